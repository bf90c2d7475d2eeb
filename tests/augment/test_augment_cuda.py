"""The batch transforms on a CUDA device, with CUDA and CPU generators (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from reglab.augment import MixupCutmix, cutmix, cutout, mixup, sample_cutmix_params, sample_mixup_params

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(6, 3, 8, 8, generator=g).cuda(), torch.randint(0, 4, (6,), generator=g).cuda()


@pytest.mark.parametrize("gen_device", ["cuda", "cpu"])
def test_mixup_and_cutmix_follow_their_params_on_cuda(gen_device):
    x, y = _batch()
    one_hot = F.one_hot(y, 4).float()
    for seed in range(5):
        params = sample_mixup_params(6, 0.4, torch.Generator(gen_device).manual_seed(seed))
        x_mixed, y_soft = mixup(x, y, 0.4, 4, torch.Generator(gen_device).manual_seed(seed))
        perm = params.perm.to("cuda")
        assert x_mixed.device.type == "cuda" and y_soft.device.type == "cuda"
        torch.testing.assert_close(x_mixed, params.lam * x + (1 - params.lam) * x[perm])
        torch.testing.assert_close(y_soft, params.lam * one_hot + (1 - params.lam) * one_hot[perm])
        params = sample_cutmix_params(6, 8, 8, 1.0, torch.Generator(gen_device).manual_seed(seed))
        x_mixed, y_soft = cutmix(x, y, 1.0, 4, torch.Generator(gen_device).manual_seed(seed))
        top, bottom, left, right = params.box
        expected = x.clone()
        perm = params.perm.to("cuda")
        expected[:, :, top:bottom, left:right] = x[perm][:, :, top:bottom, left:right]
        assert torch.equal(x_mixed, expected)
        torch.testing.assert_close(y_soft, params.lam * one_hot + (1 - params.lam) * one_hot[perm])


def test_cutout_and_mixup_cutmix_reproducible_on_cuda():
    x, y = _batch()
    a = cutout(x, 4, torch.Generator("cuda").manual_seed(3))
    assert a.device.type == "cuda"
    assert torch.equal(a, cutout(x, 4, torch.Generator("cuda").manual_seed(3)))
    zeros = (a == 0).all(1).sum((1, 2))
    assert int(zeros.max()) == 16 and int(zeros.min()) >= 4  # 4x4 squares, clipped at most to 2x2
    transform = MixupCutmix(label_smoothing=0.1, num_classes=4)
    out1 = transform(x, y, torch.Generator("cuda").manual_seed(9))
    out2 = transform(x, y, torch.Generator("cuda").manual_seed(9))
    assert torch.equal(out1[0], out2[0]) and torch.equal(out1[1], out2[1])
    torch.testing.assert_close(out1[1].sum(1), torch.ones(6, device="cuda"))


@pytest.mark.parametrize("gen_device", ["cuda", "cpu"])
def test_per_modality_ops_run_on_the_batch_device(gen_device):
    from reglab import augment as A

    g = torch.Generator().manual_seed(0)
    signal = torch.randn(16, 2, 40, generator=g)
    images = torch.randn(16, 3, 12, 12, generator=g)
    tokens = torch.randint(1, 30, (16, 10), generator=g)
    tokens[:, 7:] = 0
    spec = torch.randn(16, 20, 30, generator=g)
    ops = [
        (lambda x, gen: A.random_shift(x, 4, "zero", gen), signal),
        (lambda x, gen: A.time_stretch(x, 0.2, gen), signal),
        (lambda x, gen: A.random_crop_resize(x, 0.6, gen), signal),
        (lambda x, gen: A.random_crop(x, 2, gen), images),
        (lambda x, gen: A.horizontal_flip(x, 0.5, gen), images),
        (lambda x, gen: A.random_erasing(x, 0.5, generator=gen), images),
        (lambda x, gen: A.random_deletion(x, 0.3, generator=gen), tokens),
        (lambda x, gen: A.random_insertion(x, 30, 2, generator=gen), tokens),
        (lambda x, gen: A.add_noise_snr(x, 10, 20, gen), signal),
        (lambda x, gen: A.spec_augment(x, 5, 8, generator=gen), spec),
    ]
    for op, x in ops:
        out = op(x.cuda(), torch.Generator(gen_device).manual_seed(1))
        assert out.device.type == "cuda" and out.shape == x.shape and out.dtype == x.dtype
        if gen_device == "cpu":  # same draws as on the CPU: same result up to float rounding
            torch.testing.assert_close(out.cpu(), op(x, torch.Generator().manual_seed(1)))
        if x.dtype == torch.long:  # padding never changes
            assert bool((out[:, 7:] == 0).all())
