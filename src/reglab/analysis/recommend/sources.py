"""The published recipes the recommender's rules come from, one citation per key.

Every :class:`~reglab.analysis.recommend.problem.Step` carries the citations of its recipe in
``source``; the CLI prints them under the step. The numbers each rule takes from a source are
listed in the rule module's docstring (``rules_*.py``) and stated in the step's reason.
"""

from __future__ import annotations

__all__ = ["SOURCES", "cite"]

SOURCES: dict[str, str] = {
    "devlin2019": "Devlin et al. 2019, BERT: Pre-training of Deep Bidirectional Transformers, NAACL, arXiv:1810.04805",
    "hf": "Hugging Face Transformers fine-tuning recipes (Trainer: weight_decay, warmup_ratio, evaluation every N steps, EarlyStoppingCallback)",
    "liu2019": "Liu et al. 2019, RoBERTa, arXiv:1907.11692",
    "dodge2020": "Dodge et al. 2020, Fine-Tuning Pretrained Language Models: Weight Initializations, Data Orders, and Early Stopping, arXiv:2002.06305",
    "mosbach2021": "Mosbach, Andriushchenko & Klakow 2021, On the Stability of Fine-tuning BERT, ICLR, arXiv:2006.04884",
    "howard2018": "Howard & Ruder 2018, Universal Language Model Fine-tuning (ULMFiT), ACL, arXiv:1801.06146",
    "guo2019": "Guo, Mao & Zhang 2019, Augmenting Data with Mixup for Sentence Classification, arXiv:1905.08941",
    "vaswani2017": "Vaswani et al. 2017, Attention Is All You Need, NeurIPS, arXiv:1706.03762",
    "kornblith2019": "Kornblith, Shlens & Le 2019, Do Better ImageNet Models Transfer Better?, CVPR, arXiv:1805.08974",
    "kolesnikov2020": "Kolesnikov et al. 2020, Big Transfer (BiT), ECCV, arXiv:1912.11370",
    "torchvision": "torchvision classification reference recipe (Vryniotis 2021, How to Train State-of-the-Art Models Using TorchVision's Latest Primitives)",
    "timm": "Wightman, Touvron & Jegou 2021, ResNet strikes back (timm's ResNet-50 recipes), arXiv:2110.00476",
    "deit": "Touvron et al. 2021, Training data-efficient image transformers (DeiT), ICML, arXiv:2012.12877",
    "he2016": "He et al. 2016, Deep Residual Learning for Image Recognition, CVPR, arXiv:1512.03385",
    "cubuk2020": "Cubuk et al. 2020, RandAugment, CVPR Workshops, arXiv:1909.13719",
    "muller2021": "Muller & Hutter 2021, TrivialAugment, ICCV, arXiv:2103.10158",
    "zhang2018": "Zhang et al. 2018, mixup: Beyond Empirical Risk Minimization, ICLR, arXiv:1710.09412",
    "yun2019": "Yun et al. 2019, CutMix, ICCV, arXiv:1905.04899",
    "szegedy2016": "Szegedy et al. 2016, Rethinking the Inception Architecture, CVPR, arXiv:1512.00567",
    "huang2016": "Huang et al. 2016, Deep Networks with Stochastic Depth, ECCV, arXiv:1603.09382",
    "loshchilov2019": "Loshchilov & Hutter 2019, Decoupled Weight Decay Regularization, ICLR, arXiv:1711.05101",
    "prechelt1998": "Prechelt 1998, Early Stopping - But When?, Neural Networks: Tricks of the Trade",
    "srivastava2014": "Srivastava et al. 2014, Dropout: A Simple Way to Prevent Neural Networks from Overfitting, JMLR 15(56)",
    "bishop1995": "Bishop 1995, Training with Noise is Equivalent to Tikhonov Regularization, Neural Computation 7(1)",
    "kadra2021": "Kadra et al. 2021, Well-tuned Simple Nets Excel on Tabular Datasets, NeurIPS, arXiv:2106.11189",
    "gorishniy2021": "Gorishniy et al. 2021, Revisiting Deep Learning Models for Tabular Data, NeurIPS, arXiv:2106.11959",
    "grinsztajn2022": "Grinsztajn, Oyallon & Varoquaux 2022, Why do tree-based models still outperform deep learning on tabular data?, NeurIPS Datasets and Benchmarks, arXiv:2207.08815",
    "merity2018": "Merity, Keskar & Socher 2018, Regularizing and Optimizing LSTM Language Models (AWD-LSTM), ICLR, arXiv:1708.02182",
    "gal2016": "Gal & Ghahramani 2016, A Theoretically Grounded Application of Dropout in Recurrent Neural Networks, NeurIPS, arXiv:1512.05287",
    "gal2016mc": "Gal & Ghahramani 2016, Dropout as a Bayesian Approximation, ICML, arXiv:1506.02142",
    "pascanu2013": "Pascanu, Mikolov & Bengio 2013, On the difficulty of training RNNs, ICML, arXiv:1211.5063",
    "goodfellow2016": "Goodfellow, Bengio & Courville 2016, Deep Learning, MIT Press, ch. 11",
    "smith2018": "Smith 2018, A disciplined approach to neural network hyper-parameters: Part 1, arXiv:1803.09820",
    "zhang2017": "Zhang et al. 2017, Understanding deep learning requires rethinking generalization, ICLR, arXiv:1611.03530",
}


def cite(*keys: str) -> str:
    """The citations of ``keys`` joined by "; " (a ``KeyError`` for an unknown key is a bug)."""
    return "; ".join(SOURCES[k] for k in keys)
