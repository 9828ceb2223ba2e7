"""The semantic model: fusion variants, heads, decoding, tokenizer and checkpoint round trips."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from semantic_fixtures import CAPTIONS, CONFIG, CONTEXT_TOKENS, build_semantics, save_model

from smot.errors import InputError
from smot.models.checkpoint import load_checkpoint
from smot.models.semantics import (
    FUSIONS,
    PRESETS,
    SemanticConfig,
    adaptive_pool,
    even_steps,
    focal_bce,
    load_semantics,
)
from smot.models.tokenizer import from_data, load_tokenizer_dir, to_data, train_tokenizer


def random_inputs(seed=0, lengths=(3, 11, 1)):
    g = torch.Generator().manual_seed(seed)
    context = torch.randn(7, CONTEXT_TOKENS, CONFIG.context_dim, generator=g)
    tracks = [torch.randn(n, CONFIG.box_dim, generator=g) for n in lengths]
    return context, tracks


# ----------------------------------------------------------------------------------------------
# fusion


# each variant of each module once: (attention, mlp), (mlp, concatenation), ...
@pytest.mark.parametrize("video, trajectory", list(zip(FUSIONS, FUSIONS[1:] + FUSIONS[:1], strict=True)))
def test_every_fusion_variant_gives_the_documented_shapes_and_trains(video, trajectory):
    semantics = build_semantics(CONFIG.replace(video_fusion=video, trajectory_fusion=trajectory))
    model = semantics.model.train()
    context, tracks = random_inputs()
    fused_video, fused = model.fuse(context, tracks)
    d = CONFIG.d_model
    # concatenation keeps every step up to the cap (4 tokens a box, CONTEXT_TOKENS a frame); the
    # recurrent variants and addition keep one step's worth of tokens
    if video == "concatenation":
        assert fused_video.shape == (CONFIG.max_video_frames * CONTEXT_TOKENS, d)
    else:
        assert fused_video.shape == (CONTEXT_TOKENS, d)
    if trajectory == "concatenation":
        assert [t.shape for t in fused] == [(4 * 3, d), (4 * CONFIG.max_track_frames, d), (4 * 1, d)]
    else:
        assert [t.shape for t in fused] == [(4, d)] * 3
    captions = [torch.tensor(semantics.encode(c)) for c in CAPTIONS[:2]] + [None]
    losses = model.losses(fused_video, fused, captions, torch.tensor(semantics.encode(CAPTIONS[3])),
                          [(0, 1), (1, 0), (2, 0)], torch.tensor([[1.0, 0, 0], [0, 1, 1], [0, 0, 0]]))
    assert set(losses) == {"caption", "summary", "interaction"}
    sum(losses.values()).backward()
    # every fusion parameter receives a gradient from the semantic losses
    for name, p in model.named_parameters():
        if name.startswith(("video_fusion", "trajectory_fusion")) and p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_even_steps_spread_over_the_track_keeping_both_ends():
    # length 10, cap 4: round(k * 9 / 3) for k = 0..3 = 0, 3, 6, 9
    assert even_steps(10, 4).tolist() == [0, 3, 6, 9]
    # length 5, cap 4: round(k * 4 / 3) = round(0, 1.33, 2.67, 4) = 0, 1, 3, 4
    assert even_steps(5, 4).tolist() == [0, 1, 3, 4]
    assert even_steps(3, 4).tolist() == [0, 1, 2]
    assert even_steps(7, 1).tolist() == [0]


def test_a_long_track_costs_what_a_capped_one_does():
    model = build_semantics().model.eval()
    with torch.no_grad():
        long = model.trajectory_fusion([torch.randn(5000, CONFIG.box_dim)])[0]
    assert long.shape == (4 * CONFIG.max_track_frames, CONFIG.d_model)


@pytest.mark.parametrize("kind", FUSIONS)
def test_a_track_fuses_the_same_alone_and_padded_in_a_batch(kind):
    model = build_semantics(CONFIG.replace(trajectory_fusion=kind)).model.eval()
    _, tracks = random_inputs(lengths=(2, 6, 12))
    with torch.no_grad():
        batch = model.trajectory_fusion(tracks)
        for track, fused in zip(tracks, batch, strict=True):
            alone = model.trajectory_fusion([track])[0]
            torch.testing.assert_close(fused, alone, atol=1e-5, rtol=1e-5)


def test_attention_video_fusion_is_the_recurrence_of_eq1():
    # with one initial frame: F_1 = f_1, F_i = CA(F_{i-1}, f_i)
    model = build_semantics(CONFIG.replace(video_init_frames=1)).model.eval()
    context, _ = random_inputs()
    with torch.no_grad():
        fused = model.video_fusion(context)
        block = model.video_fusion.fuse.step
        frames = model.video_fusion.project(context)  # context tokens of 16 -> d = 32
        state = frames[0][None]
        for frame in frames[1:]:
            state = block(state, frame[None])
    torch.testing.assert_close(fused, state[0])


def test_attention_video_fusion_starts_from_the_mean_of_the_first_frames():
    # official: the state is the mean of the first 5 frames; a 3-frame video is just that mean
    model = build_semantics(CONFIG.replace(video_init_frames=5)).model.eval()
    context, _ = random_inputs()
    with torch.no_grad():
        frames = model.video_fusion.project(context)
        torch.testing.assert_close(model.video_fusion(context[:3]), frames[:3].mean(0))
        state = frames[:5].mean(0)[None]
        state = model.video_fusion.fuse.step(state, frames[5][None])
        torch.testing.assert_close(model.video_fusion(context[:6]), state[0])


def test_addition_fusion_is_the_normalised_mean():
    # tokens: each box read as 4 x 16, projected to d = 32, plus the time encoding; LN(mean over frames)
    from smot.models.semantics import sinusoid

    model = build_semantics(CONFIG.replace(trajectory_fusion="addition")).model.eval()
    _, tracks = random_inputs(lengths=(5,))
    fusion = model.trajectory_fusion
    with torch.no_grad():
        tokens = fusion.project(tracks[0].reshape(5, 4, 16)) + sinusoid(torch.arange(5), 32)[:, None]
        expected = fusion.fuse.norm(tokens.mean(0))
        torch.testing.assert_close(fusion(tracks)[0], expected)


# ----------------------------------------------------------------------------------------------
# heads


def test_adaptive_pool_equals_torch_adaptive_avg_pool_on_each_items_own_tokens():
    g = torch.Generator().manual_seed(3)
    tokens = torch.randn(4, 13, 5, generator=g)
    lengths = [13, 7, 2, 1]
    pad = torch.arange(13)[None] >= torch.tensor(lengths)[:, None]
    for out in (1, 4, 8, 20):
        pooled = adaptive_pool(tokens, pad, out)
        for b, n in enumerate(lengths):
            expected = F.adaptive_avg_pool1d(tokens[b, :n].T[None], out)[0].T
            torch.testing.assert_close(pooled[b], expected)


def test_focal_bce_by_hand():
    # logit 0 -> p = 0.5, p_t = 0.5 for either target; BCE = ln 2; weight (1 - 0.5)^2 = 0.25
    # logit ln 3 -> p = 0.75; target 1: p_t = 0.75, BCE = ln(4/3), weight 0.0625
    #                          target 0: p_t = 0.25, BCE = ln 4,    weight 0.5625
    logits = torch.tensor([[0.0, math.log(3)], [0.0, math.log(3)]])
    targets = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    expected = (0.25 * math.log(2) * 2 + 0.0625 * math.log(4 / 3) + 0.5625 * math.log(4)) / 4
    assert focal_bce(logits, targets, 2.0).item() == pytest.approx(expected, rel=1e-6)


def test_interactions_are_directed():
    model = build_semantics().model.eval()
    _, tracks = random_inputs()
    with torch.no_grad():
        _, fused = model.fuse(None, tracks)
        logits = model.interaction_logits(fused, [(0, 1), (1, 0)])
    assert logits.shape == (2, len(CONFIG.predicates))
    assert not torch.allclose(logits[0], logits[1])


def test_a_tiny_model_overfits_a_handful_of_captions_and_interaction_labels():
    semantics = build_semantics()
    model = semantics.model.train()
    g = torch.Generator().manual_seed(1)
    tracks = [torch.randn(n, CONFIG.box_dim, generator=g) for n in (3, 5, 9, 2)]
    context = torch.randn(5, CONTEXT_TOKENS, CONFIG.context_dim, generator=g)
    captions = [torch.tensor(semantics.encode(c)) for c in CAPTIONS]
    summary_text = "Two people meet in a park."
    pairs = [(0, 1), (1, 0), (2, 3), (3, 2), (0, 2)]
    labels = torch.tensor([[1.0, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 0], [0, 0, 1]])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(100):
        video, fused = model.fuse(context, tracks)
        losses = model.losses(video, fused, captions, torch.tensor(semantics.encode(summary_text)), pairs, labels)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        video, fused = model.fuse(context, tracks)
        memory, pad = model.instance_caption_memory(fused)
        ids, _ = model.instance_decoder.generate(memory, pad)
        memory, pad = model.video_caption_memory(video, fused)
        summary, _ = model.video_decoder.generate(memory, pad)
        predicted = torch.sigmoid(model.interaction_logits(fused, pairs)) > 0.5
    # decoded text is lower-case (uncased tokenizer, as the official decoder)
    assert [semantics.decode(i) for i in ids] == [c.lower() for c in CAPTIONS]
    assert semantics.decode(summary[0]) == summary_text.lower()
    assert predicted.tolist() == labels.bool().tolist()


def instance_memory():
    """(model in eval mode, fused random trajectories, their instance-caption memory and padding)."""
    model = build_semantics().model.eval()
    _, tracks = random_inputs()
    with torch.no_grad():
        _, fused = model.fuse(None, tracks)
        return (model, fused, *model.instance_caption_memory(fused))


def test_decoding_is_deterministic_and_respects_max_length():
    model, _, memory, pad = instance_memory()
    with torch.no_grad():
        for beams in (1, 3):
            first = model.instance_decoder.generate(memory, pad, beams=beams, max_length=6)
            again = model.instance_decoder.generate(memory, pad, beams=beams, max_length=6)
            assert first == again
            # max_length counts the begin token: at most 5 more, the end token not returned
            assert all(len(ids) <= 5 for ids in first[0])
            assert all(s <= 0 for s in first[1])


def test_beam_search_on_padded_memory_equals_each_item_alone():
    model, fused, memory, pad = instance_memory()
    with torch.no_grad():
        together, _ = model.instance_decoder.generate(memory, pad, beams=2, max_length=8)
        for i, track in enumerate(fused):
            m, p = model.instance_caption_memory([track])
            alone, _ = model.instance_decoder.generate(m, p, beams=2, max_length=8)
            assert alone[0] == together[i]


# ----------------------------------------------------------------------------------------------
# config, tokenizer, checkpoint


def test_config_round_trips_and_rejects_unknown_variants():
    for preset in PRESETS.values():
        assert SemanticConfig.from_dict(preset.to_dict()) == preset
    with pytest.raises(ValueError, match="video_fusion must be one of"):
        CONFIG.replace(video_fusion="gru")
    with pytest.raises(ValueError, match="unknown semantic config fields: colour"):
        SemanticConfig.from_dict({"colour": 1})


def test_paper_preset_has_the_official_sizes():
    c = PRESETS["paper"]
    # reference §4.4-4.8
    assert (c.d_model, c.heads, c.ffn, c.box_tokens, c.box_token_dim) == (256, 8, 1024, 4, 256)
    assert (c.decoder_layers, c.decoder_hidden, c.decoder_heads, c.decoder_ffn) == (6, 768, 12, 3072)
    assert (c.interaction_tokens, c.interaction_hidden, c.max_length) == (128, 2048, 40)
    assert (c.video_fusion, c.trajectory_fusion, c.shared_decoder) == ("attention", "concatenation", True)


def test_tokenizer_is_reproducible_and_round_trips_as_plain_data(tmp_path):
    first, second = train_tokenizer(CAPTIONS, 200), train_tokenizer(list(CAPTIONS), 200)
    assert to_data(first) == to_data(second)
    restored = from_data(to_data(first))
    text = "A man in a red shirt waves."
    assert restored(text)["input_ids"] == first(text)["input_ids"]
    assert restored.decode(restored(text)["input_ids"]) == text.lower()
    # an unseen word decomposes into known pieces instead of [UNK]
    pieces = first.convert_ids_to_tokens(first("zebra")["input_ids"])
    assert "[UNK]" not in pieces and "".join(p.removeprefix("##") for p in pieces) == "zebra"
    # whole words by count: "a" (4 times) and "the" (3) are words of the vocabulary
    assert first.convert_ids_to_tokens(first("a the")["input_ids"]) == ["a", "the"]
    # a saved tokenizer folder loads as the local tokenizer
    first.save_pretrained(tmp_path / "tok")
    assert to_data(load_tokenizer_dir(tmp_path / "tok"))["json"] == to_data(first)["json"]
    with pytest.raises(InputError, match="cannot load a tokenizer"):
        load_tokenizer_dir(tmp_path / "missing")


def test_long_captions_are_cut_to_max_length():
    semantics = build_semantics()
    ids = semantics.encode(" ".join(["walks"] * 50))
    assert len(ids) == CONFIG.max_length
    assert ids[0] == semantics.tokenizer.bos_token_id and ids[-1] == semantics.tokenizer.eos_token_id


def test_checkpoint_round_trip_loads_without_code_and_gives_the_same_outputs(tmp_path):
    semantics = build_semantics()
    path = tmp_path / "m.pt"
    sha = save_model(path, semantics)
    data = torch.load(path, weights_only=True)
    assert data["format"] == "smot.model" and "semantic" in data["weights"]
    loaded, checkpoint = load_semantics(str(path))
    assert checkpoint.sha256 == sha and loaded.config == semantics.config
    _, tracks = random_inputs()
    semantics.model.eval()
    with torch.no_grad():
        a = semantics.model.fuse(None, tracks)[1]
        b = loaded.model.fuse(None, tracks)[1]
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


def test_a_checkpoint_without_the_semantic_part_is_named(tmp_path):
    from smot.models.checkpoint import save_checkpoint

    save_checkpoint(tmp_path / "d.pt", {"config": {"detector": {}}, "weights": {"detector": {}}})
    with pytest.raises(InputError, match="holds no semantic"):
        load_semantics(str(tmp_path / "d.pt"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="is not a smot model checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")


def test_batch_input_norm_makes_the_differences_between_boxes_the_input():
    """input_norm=batch: each box-feature dimension over the boxes of the batch (two boxes: -1 and
    +1 wherever they differ, whatever they share), running statistics at inference; one box alone
    in training uses the running statistics too; context is normalised per channel."""
    from smot.models.semantics import InputNorm

    norm = InputNorm("batch", 3, 3).train()
    shared = torch.tensor([100.0, 50.0, 7.0])
    boxes = torch.stack([shared + torch.tensor([1.0, -2.0, 0.0]), shared + torch.tensor([-1.0, 2.0, 0.0])])
    out = norm(boxes)
    torch.testing.assert_close(out[:, :2], torch.tensor([[1.0, -1.0], [-1.0, 1.0]]), atol=1e-4, rtol=0)
    assert out[:, 2].abs().max() < 1e-3  # a dimension every box shares carries nothing (float rounding)
    # running statistics moved by momentum 0.1 from (0, 1) toward the batch's mean and unbiased variance
    torch.testing.assert_close(norm.norm.running_mean, 0.1 * shared)
    torch.testing.assert_close(norm.norm.running_var, torch.tensor([0.9 + 0.1 * 2.0, 0.9 + 0.1 * 8.0, 0.9]))
    single = norm(boxes[:1])  # no spread in one box: the running statistics, no error
    norm.eval()
    torch.testing.assert_close(single, norm(boxes[:1]))
    # context (frames, channels, positions): channel c over every frame and position
    context = InputNorm("batch", 2, 4).train()
    x = torch.stack([torch.full((4,), 10.0), torch.arange(4.0)])[None].repeat(3, 1, 1)  # (3, 2, 4)
    y = context(x)
    assert y[:, 0].abs().max() < 1e-3
    torch.testing.assert_close(y[0, 1], (torch.arange(4.0) - 1.5) / torch.arange(4.0).var(unbiased=False).sqrt(),
                               atol=1e-4, rtol=0)


# ----------------------------------------------------------------------------------------------
# motion tokens, running normalisation, memory prefix, joined video memory


def test_box_geometry_by_hand():
    from smot.models.semantics import box_geometry

    # a 101-frame 200x100 video: frame 51 is half way; box (20, 10)-(60, 90): centre (40, 50), 40 x 80
    rows = box_geometry([1, 51, 101], [[20, 10, 60, 90]] * 3, 101, 200, 100)
    torch.testing.assert_close(rows, torch.tensor([[0.0, 0.2, 0.5, 0.2, 0.8], [0.5, 0.2, 0.5, 0.2, 0.8],
                                                   [1.0, 0.2, 0.5, 0.2, 0.8]]))


def test_motion_tokens_say_where_the_track_is_in_each_part_of_the_video():
    """Token k reads only the boxes in the k-th quarter of the video's time; a part the track is not
    seen in gives the same token whatever the track does elsewhere."""
    from smot.models.semantics import box_geometry

    config = CONFIG.replace(motion_tokens=4, trajectory_fusion="addition")
    model = build_semantics(config).model.eval()
    _, tracks = random_inputs(lengths=(4,))
    boxes = torch.tensor([[10.0, 10, 30, 50]] * 4)
    early = box_geometry([1, 2, 3, 4], boxes, 100, 200, 100)  # all in the first quarter
    moved = box_geometry([1, 2, 3, 4], boxes + torch.tensor([50.0, 0, 50, 0]), 100, 200, 100)
    with torch.no_grad():
        a = model.trajectory_fusion(tracks, [early])[0]
        b = model.trajectory_fusion(tracks, [moved])[0]
    assert a.shape == (4 + 4, config.d_model)  # 4 appearance tokens, then 4 motion tokens
    torch.testing.assert_close(a[:4], b[:4])  # appearance does not depend on where the box is
    assert not torch.allclose(a[4], b[4])  # quarter 1 saw the move
    torch.testing.assert_close(a[5:], b[5:])  # quarters 2-4 saw nothing of it
    with pytest.raises(ValueError, match="need the tracks' boxes"):
        model.trajectory_fusion(tracks)


@pytest.mark.parametrize("prefix", [False, True])
def test_greedy_decoding_is_the_argmax_at_every_step(prefix):
    """generate (transformers) with and without the memory prefix equals decoding by hand: the most
    likely next token after each prefix, until the end token."""
    model = build_semantics(CONFIG.replace(memory_prefix=prefix), seed=2).model.eval()
    _, tracks = random_inputs()
    decoder = model.instance_decoder
    with torch.no_grad():
        _, fused = model.fuse(None, tracks)
        memory, pad = model.instance_caption_memory(fused)
        ids, _ = decoder.generate(memory, pad, max_length=10)
        seq = torch.full((len(fused), 1), decoder.bos_id)
        for _ in range(9):
            step = decoder._logits(memory, pad, seq, torch.ones_like(seq))[:, -1].argmax(-1)
            seq = torch.cat([seq, step[:, None]], 1)
    by_hand = []
    for row in seq[:, 1:].tolist():
        by_hand.append(row[: row.index(decoder.eos_id)] if decoder.eos_id in row else row)
    assert ids == by_hand


@pytest.mark.parametrize("prefix", [False, True])
def test_memory_prefix_reaches_the_decoder_without_cross_attention(prefix):
    """With every cross-attention output zeroed, only the prefix (the Linear of the mean of the
    valid memory tokens, ahead of the begin token) lets the memory change the loss."""
    semantics = build_semantics(CONFIG.replace(memory_prefix=prefix))
    decoder = semantics.model.instance_decoder.eval()
    for name, p in decoder.named_parameters():
        if "crossattention.output.dense" in name:
            p.data.zero_()
    text = torch.tensor([semantics.encode(CAPTIONS[0])] * 2)
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 3, CONFIG.decoder_hidden, generator=g), torch.randn(2, 3, CONFIG.decoder_hidden, generator=g)
    pad = torch.tensor([[False, False, True]] * 2)
    b[:, :2] = a[:, :2]
    with torch.no_grad():
        # padding is not memory: a and b differ only there
        assert decoder.loss(a, pad, text) == decoder.loss(b, pad, text)
        b = torch.randn(2, 3, CONFIG.decoder_hidden, generator=g)
        assert (decoder.loss(a, pad, text) != decoder.loss(b, pad, text)) == prefix
        if prefix:
            inputs = decoder._inputs(a, pad, text, torch.ones_like(text))
            torch.testing.assert_close(inputs["inputs_embeds"][:, 0], decoder.prefix(a[:, :2].mean(1)))


def test_joined_video_memory_is_the_injected_video_then_every_trajectory():
    model = build_semantics(CONFIG.replace(video_caption_memory="joined", trajectory_fusion="addition")).model.eval()
    context, tracks = random_inputs()
    with torch.no_grad():
        video, fused = model.fuse(context, tracks)
        memory, pad = model.video_caption_memory(video, fused)
        injected = video[None]
        for t in fused:
            injected = model.video_inject(injected, t[None])
        expected = model.video_memory(torch.cat([injected[0], *fused])[None])
    assert memory.shape == (1, CONTEXT_TOKENS + 3 * 4, CONFIG.decoder_hidden) and not pad.any()
    torch.testing.assert_close(memory, expected)
