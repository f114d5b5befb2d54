from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from plateread.decoding import greedy_decode
from plateread.export import ExportError, export_onnx
from plateread.formats import CN, RU
from plateread.models import REGISTRY, build_model
from plateread.models.resnet import ResNet18Trunk
from plateread.predict import OnnxPredictor
from plateread.train.checkpoint import init_from, load_model, model_meta, save_checkpoint
from plateread.train.losses import PlateLoss

FORMATS = {"crnn_province": CN}


def _batch(arch: str, n: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, list[str]]:
    fmt = FORMATS.get(arch, RU)
    h, w = REGISTRY[arch].input_size
    images = torch.randint(0, 256, (n, h, w, 3), dtype=torch.uint8)
    texts = ["皖A12345", "京BD12345"][:n] if fmt is CN else ["A123BC77", "B456KM199"][:n]
    targets = torch.cat([torch.tensor(fmt.encode(t)) for t in texts])
    lengths = torch.tensor([len(t) for t in texts])
    return images, targets, lengths, texts


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_shapes_backward_and_finite_ctc(arch: str) -> None:
    fmt = FORMATS.get(arch, RU)
    model = build_model(arch, fmt)
    images, targets, lengths, _ = _batch(arch)
    logits = model(images)
    assert logits.ndim == 3 and logits.shape[0] == 2 and logits.shape[2] == fmt.num_classes
    assert logits.shape[1] >= 2 * 9 + 1  # room for CTC blanks between repeated characters
    loss = PlateLoss(model)(logits, targets, lengths)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_province_loss_is_weighted_cross_entropy_at_step_0_plus_ctc_after_it() -> None:
    from plateread.train.losses import ctc, province_weights

    provinces = CN.classes["P"]
    w = province_weights(["皖A12345"] * 5 + ["京BD12345"], provinces, power=1.0)
    counts = torch.ones(len(provinces))  # smoothing 1, then the labels
    counts[provinces.index("皖")] += 5
    counts[provinces.index("京")] += 1
    assert torch.allclose(w, (1 / counts) / (1 / counts).mean())  # unseen provinces weigh most
    model = build_model("crnn_province", CN)
    _, targets, lengths, texts = _batch("crnn_province")
    logits = torch.randn(2, 24, CN.num_classes, generator=torch.Generator().manual_seed(0))
    got = PlateLoss(model, w)(logits, targets, lengths)
    # by hand: each plate's province scored among the province classes alone, at step 0
    prov = torch.tensor([CN.alphabet.index(c) + 1 for c in provinces])
    k = [provinces.index(t[0]) for t in texts]
    nll = [-torch.log_softmax(logits[i, 0, prov], 0)[k[i]] for i in range(2)]
    ce = (w[k[0]] * nll[0] + w[k[1]] * nll[1]) / (w[k[0]] + w[k[1]])
    rest = torch.tensor(CN.encode("".join(t[1:] for t in texts)))
    assert torch.allclose(got, ce + ctc(logits[:, 1:], rest, lengths - 1))
    assert not torch.allclose(got, ce + ctc(logits, targets, lengths))


def test_course_model_shape_and_torchvision_names(tmp_path: Path) -> None:
    model = build_model("crnn_resnet18", RU).eval()
    out = model(torch.zeros(1, 64, 320, 3, dtype=torch.uint8))
    assert tuple(out.shape) == (1, 20, 23)
    # the course's layout: float [N, 3, H, W] in [0, 1] gives the same logits
    pixels = torch.randint(0, 256, (2, 64, 320, 3), dtype=torch.uint8)
    course = pixels.permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        assert tuple(model(course).shape) == (2, 20, 23)
        assert torch.allclose(model(course), model(pixels), atol=1e-4)
    names = set(model.cnn.state_dict())
    assert {
        "conv1.weight",
        "bn1.running_mean",
        "layer1.0.conv1.weight",
        "layer4.1.bn2.weight",
        "layer2.0.downsample.0.weight",
        "layer2.0.downsample.1.weight",
    } <= names
    # a torchvision-style file (with an fc head) loads; foreign shapes are refused
    src = ResNet18Trunk()
    state = {**src.state_dict(), "fc.weight": torch.zeros(1000, 512), "fc.bias": torch.zeros(1000)}
    torch.save(state, tmp_path / "resnet18.pth")
    assert model.cnn.load_torchvision(tmp_path / "resnet18.pth") == []
    assert torch.equal(model.cnn.conv1.weight, src.conv1.weight)
    torch.save({"conv1.weight": torch.zeros(3, 3)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError):
        model.cnn.load_torchvision(tmp_path / "bad.pth")


# the sizes the registry's descriptions state, in millions of parameters
STATED_SIZE = {
    arch: float(m.group(1))
    for arch, spec in REGISTRY.items()
    if (m := re.search(r"~([\d.]+)M parameters", spec.description))
}


@pytest.mark.parametrize("arch", sorted(STATED_SIZE))
def test_parameter_counts_the_registry_states_hold(arch: str) -> None:
    n = sum(p.numel() for p in build_model(arch, CN).parameters()) / 1e6
    assert abs(n - STATED_SIZE[arch]) <= 0.05 * n, n


def test_province_model_reads_province_first() -> None:
    model = build_model("crnn_province", CN).eval()
    logits = model(torch.randint(0, 256, (3, 32, 128, 3), dtype=torch.uint8)).detach().numpy()
    for d in greedy_decode(logits, CN.alphabet):
        assert d.text and d.text[0] in CN.classes["P"]
        assert all(c not in CN.classes["P"] for c in d.text[1:])
    with pytest.raises(ValueError, match="P class"):
        build_model("crnn_province", RU)


@pytest.mark.parametrize("arch", sorted(REGISTRY))
def test_checkpoint_roundtrip_and_onnx_parity(arch: str, tmp_path: Path) -> None:
    fmt = FORMATS.get(arch, RU)
    model = build_model(arch, fmt).eval()
    meta = model_meta(arch, fmt, REGISTRY[arch].input_size, {})
    ckpt = save_checkpoint(tmp_path / "m.pt", model, meta, epoch=0)
    loaded, state = load_model(ckpt)  # weights_only=True inside
    images = _batch(arch, 2)[0]
    with torch.no_grad():
        assert torch.allclose(loaded(images), model(images), atol=1e-5)
    figures = export_onnx(ckpt, tmp_path / "m.onnx")
    assert figures["max_abs_diff"] < 1e-3 and figures["same_text"] == 1.0
    pred = OnnxPredictor(tmp_path / "m.onnx")
    assert pred.format == fmt and pred.input_size == REGISTRY[arch].input_size
    batch5 = np.random.default_rng(1).integers(0, 256, (5, *pred.input_size, 3), dtype=np.uint8)
    with torch.no_grad():
        ref = model(torch.from_numpy(batch5)).numpy()
    assert np.abs(pred.logits(batch5) - ref).max() < 1e-3  # dynamic batch size


def test_sampler_starts_as_a_plain_downscale_and_zooms_where_told() -> None:
    model = build_model("crnn_fast_stn", RU).eval()
    pixels = torch.randint(0, 256, (2, 64, 256, 3), dtype=torch.uint8)
    with torch.no_grad():
        x = model.norm(pixels)
        assert torch.allclose(model.stn(x), torch.nn.functional.avg_pool2d(x, 2), atol=1e-5)
        # a zoom by 2 into the centre: scale 0.5, no shift, samples the middle half of each axis
        last = model.stn.loc[-1]
        last.bias.copy_(torch.tensor([-0.5, 0, 0, 0, -0.5, 0]) / model.stn.step_scale)
        middle = x[:, :, 16:48, 64:192]
        assert torch.allclose(model.stn(x), middle, atol=1e-5)


def test_sampler_export_parity_away_from_identity(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model("crnn_fast_stn", RU).eval()
    with torch.no_grad():
        last = model.stn.loc[-1]
        last.weight.normal_(0, 0.5)
        last.bias.normal_(0, 0.5)
    meta = model_meta("crnn_fast_stn", RU, (64, 256), {})
    ckpt = save_checkpoint(tmp_path / "m.pt", model, meta, epoch=0)
    images = _batch("crnn_fast_stn", 2)[0]
    with torch.no_grad():
        theta = model.stn.theta(model.norm(images))
    assert (theta - model.stn.identity.view(2, 3)).abs().max() > 0.01  # really not the identity
    figures = export_onnx(ckpt, tmp_path / "m.onnx")
    assert figures["max_abs_diff"] < 1e-3 and figures["same_text"] == 1.0


def test_export_judges_parity_on_probabilities_not_raw_logits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every logit of a step moved alike: 1e-2 apart, the same probabilities (as when float32
    # logits of a confident model or a learned sampler's bilinear sampling differ a little)
    _shift_onnx_logits(monkeypatch, slice(None), 1e-2)
    ckpt = _fast_checkpoint(tmp_path)
    figures = export_onnx(ckpt, tmp_path / "m.onnx")
    assert figures["max_abs_diff"] > 1e-3  # the logits alone would have failed the check
    assert figures["max_prob_diff"] < 1e-5 and figures["same_text"] == 1.0
    assert (tmp_path / "m.onnx").exists()


def _fast_checkpoint(tmp_path: Path, model: torch.nn.Module | None = None) -> Path:
    """``tmp_path / "m.pt"``: a ``crnn_fast`` RU checkpoint (of ``model``, or a fresh one)."""
    model = build_model("crnn_fast", RU).eval() if model is None else model
    meta = model_meta("crnn_fast", RU, (32, 128), {})
    return save_checkpoint(tmp_path / "m.pt", model, meta, epoch=0)


def _shift_onnx_logits(
    monkeypatch: pytest.MonkeyPatch, column: int | slice, amount: float, image: int | None = None
) -> None:
    """Make the export's ONNX Runtime check see some classes' logits moved by ``amount`` (in
    every image, or in ``image`` alone).
    """

    class Shifted(OnnxPredictor):
        def logits(self, images: np.ndarray) -> np.ndarray:
            out = super().logits(images).copy()
            out[slice(None) if image is None else image, ..., column] += amount
            return out

    monkeypatch.setattr("plateread.export.OnnxPredictor", Shifted)


def test_export_fails_and_removes_the_file_when_onnx_disagrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shift_onnx_logits(monkeypatch, 1, 3.0)  # as a wrong normalisation or layout would
    ckpt = _fast_checkpoint(tmp_path)
    with pytest.raises(ExportError, match="parity failed: max \\|probability difference\\|"):
        export_onnx(ckpt, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize(("amount", "exports"), [(0.05, True), (0.5, False)])
def test_export_lets_one_picture_of_eight_differ_up_to_ten_times_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, amount: float, exports: bool
) -> None:
    # one random picture's class 1 moved (as a learned sampler's pixel-edge jump can): about
    # 2e-3 apart in probability exports, about 2e-2 does not; the other seven agree
    _shift_onnx_logits(monkeypatch, 1, amount, image=3)
    ckpt = _fast_checkpoint(tmp_path)
    if exports:
        figures = export_onnx(ckpt, tmp_path / "m.onnx")
        assert 1e-3 < figures["max_prob_diff"] < 1e-2 and figures["median_prob_diff"] < 1e-5
    else:
        with pytest.raises(ExportError, match="0.01\\), on the median sample"):
            export_onnx(ckpt, tmp_path / "m.onnx")
    assert (tmp_path / "m.onnx").exists() == exports


def test_export_passes_a_reading_that_differs_only_at_a_tie(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _shift_onnx_logits(monkeypatch, 2, 1e-4)  # breaks the tie the other way: ~1e-5 apart
    model = build_model("crnn_fast", RU).eval()
    with torch.no_grad():  # every step: classes 1 and 2 tied on top
        model.fc.weight.zero_()
        model.fc.bias.copy_(torch.zeros(RU.num_classes))
        model.fc.bias[1:3] = 5.0
    ckpt = _fast_checkpoint(tmp_path, model)
    figures = export_onnx(ckpt, tmp_path / "m.onnx")
    assert figures["same_text"] == 0.0 and figures["max_prob_diff"] < 1e-4


def test_sampler_model_starts_from_a_crnn_fast_reader(tmp_path: Path) -> None:
    src = build_model("crnn_fast", RU)
    meta = model_meta("crnn_fast", RU, (32, 128), {})
    ckpt = save_checkpoint(tmp_path / "r.pt", src, meta, epoch=0)
    model = build_model("crnn_fast_stn", RU)
    report = init_from(model, ckpt, RU.alphabet)
    assert report["reinitialised"] and all(k.startswith("stn.") for k in report["reinitialised"])
    assert torch.equal(model.fc.weight, src.fc.weight)
    # with the identity sampler it reads what the source reads from the 2x2-averaged crop
    big = torch.randint(0, 256, (2, 64, 256, 3), dtype=torch.uint8)
    small = torch.nn.functional.avg_pool2d(big.permute(0, 3, 1, 2).float(), 2)
    with torch.no_grad():
        a = model.eval()(big)
        b = src.eval()(small / 255)
    assert torch.allclose(a, b, atol=1e-3)


def test_sampler_hands_the_crnn_a_channels_last_view() -> None:
    # crnn_fast's input arrives channels-last (permuted from [N, H, W, 3]); the sampler's view
    # must too, or its CNN trains about 15% slower on CPU
    model = build_model("crnn_fast_stn", RU).eval()
    seen: list[torch.Tensor] = []
    model.cnn.register_forward_pre_hook(lambda _m, args: seen.append(args[0]))
    with torch.no_grad():
        model(_batch("crnn_fast_stn")[0])
    assert seen and seen[0].is_contiguous(memory_format=torch.channels_last)
