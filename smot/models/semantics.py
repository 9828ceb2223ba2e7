"""SMOTer's semantic model: feature fusion (paper §4.2) and the three heads (§4.3).

    per-frame context tokens f_i (N, C, Dc)   -> VideoFusion (Eq. 1)       -> video feature F~ (T, d)
    per-frame box features t_i^j (L, 4 * Db)  -> TrajectoryFusion (Eq. 2) -> trajectory feature T~_j (Lj, d)

    F~, {T~_j}  -> CA_vt over the trajectories, Linear, text decoder    -> video caption    (Eq. 3)
    T~_j        -> Linear, text decoder                                 -> instance caption (Eq. 4)
    T~_j, T~_k  -> CA_tt(active j over passive k), pool, MLP            -> predicate logits (Eq. 5)

Official sizes are in reference §4.4-4.9 (`paper` preset): d = 256, 8 heads, post-norm blocks,
160 context tokens of 256 (a 16x16 grid per channel), 4 tokens of 256 per box, interaction MLP
128 * 256 -> 2048 -> 2048 -> labels, a 6-layer BERT-style decoder of width 768 shared by both
captions. Each fusion module has the four variants of Table 4 (`FUSIONS`), chosen in the config:

    attention      recurrent cross-attention: S_1 = mean(x_1..x_k), S_i = CA(S_{i-1}, x_i)   -> (T, d)
    mlp            recurrent MLP: S_i = LN(S_{i-1} + MLP([S_{i-1}; x_i]))                    -> (T, d)
    concatenation  the steps' tokens concatenated in time order, then self-attention        -> (K*T, d)
    addition       LN(mean_i x_i)                                                           -> (T, d)

where x_i are the tokens of step i (a frame's context tokens, or a box's 4 tokens). SMOTer is
attention for video fusion (Eq. 1) and concatenation for trajectory fusion (Eq. 2), the best rows
of Table 4 and what the official code does.

Bounded memory: the recurrent variants hold one state whatever the length. The concatenation
variant keeps at most `max_track_frames` (`max_video_frames`) steps, chosen evenly over the whole
track (first and last always kept): a 2000-frame track costs what a `max_track_frames` one does.
The official code has no cap (reference §4.5).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

FUSIONS = ("attention", "mlp", "concatenation", "addition")
VIDEO_MEMORIES = ("injected", "joined")
INPUT_NORMS = ("none", "layer", "batch")


class InputNorm(nn.Module):
    """A fusion module's input normalisation (`input_norm`): (n, features, [positions]) -> same.

    layer: LayerNorm over the last axis of each item. batch: BatchNorm1d over `features`, i.e. each
    feature's mean and spread over the items (and positions) of the batch, running statistics at
    inference. Box features of a ReLU head are large positive vectors whose differences between
    people are a few percent of their size; batch normalisation makes those differences the input.
    """

    def __init__(self, kind: str, features: int, last: int):
        super().__init__()
        self.kind = kind
        if kind == "layer":
            self.norm: nn.Module = nn.LayerNorm(last)
        elif kind == "batch":
            self.norm = nn.BatchNorm1d(features)
        else:
            self.norm = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind != "batch" or len(x) == 0:
            return self.norm(x)
        single = x.shape[0] * (x.shape[2] if x.ndim == 3 else 1) < 2
        if self.training and single:  # one value per feature has no spread: use the running statistics
            bn = self.norm
            return F.batch_norm(x, bn.running_mean, bn.running_var, bn.weight, bn.bias, False, 0.0, bn.eps)
        return self.norm(x)


@dataclass(frozen=True)
class SemanticConfig:
    # inputs, as the detector writes them: box features of box_tokens * box_token_dim, context
    # tokens of context_dim; projected to d_model when they differ
    box_tokens: int = 4
    box_token_dim: int = 256
    context_dim: int = 256
    context_tokens: int = 160  # context tokens per frame (the detector's P3 channels)
    # fusion (paper §4.2, Table 4)
    d_model: int = 256
    heads: int = 8
    ffn: int = 1024
    dropout: float = 0.1
    video_fusion: str = "attention"
    trajectory_fusion: str = "concatenation"
    video_init_frames: int = 5  # the recurrent state starts as the mean of the first frames (official 5; Eq. 1: 1)
    max_video_frames: int = 16  # concatenation-based video fusion keeps this many frames, evenly spaced
    max_track_frames: int = 128  # concatenation-based trajectory fusion keeps this many frames (official: no cap)
    temporal_encoding: bool = False  # add a sinusoidal encoding of time to trajectory tokens (official: none)
    # where the track is over the video: this many tokens appended to each trajectory feature, token
    # k the track's mean box in the k-th equal part of the video's time (0: none, official)
    motion_tokens: int = 0
    # normalise box and context tokens before fusion: none (official), layer (each token), or batch
    # (each dimension over the boxes of a batch, running statistics at inference: removes what all
    # people share, so what tells them apart is not a few percent of the input)
    input_norm: str = "none"
    # interaction head (Eq. 5): CA, the active tokens pooled to interaction_tokens, MLP
    interaction_tokens: int = 128
    interaction_hidden: int = 2048
    focal_gamma: float = 2.0
    predicates: tuple[str, ...] = ()  # the label vocabulary, set from the training data
    # what the video-caption decoder reads: the video feature with the trajectories injected (Eq. 3,
    # official), or that and every trajectory's own tokens after it (joined)
    video_caption_memory: str = "injected"
    # text decoders (Eq. 3-4): BERT-style, cross-attention to the projected memory
    shared_decoder: bool = True  # one decoder for video and instance captions (official)
    vocab_size: int = 0  # set from the tokenizer
    decoder_layers: int = 6
    decoder_hidden: int = 768
    decoder_heads: int = 12
    decoder_ffn: int = 3072
    decoder_positions: int = 1024
    max_length: int = 40  # caption tokens including the begin and end tokens (official 40)
    # also give the decoder the mean of its memory as a first input token, ahead of the begin token,
    # so every word is predicted from it through self-attention as well as cross-attention
    # (official: cross-attention only)
    memory_prefix: bool = False
    label_smoothing: float = 0.1

    def __post_init__(self) -> None:
        if self.input_norm not in INPUT_NORMS:
            raise ValueError(f"input_norm must be one of {', '.join(INPUT_NORMS)}, got {self.input_norm!r}")
        if self.video_caption_memory not in VIDEO_MEMORIES:
            raise ValueError(f"video_caption_memory must be one of {', '.join(VIDEO_MEMORIES)}, "
                             f"got {self.video_caption_memory!r}")
        for name in ("video_fusion", "trajectory_fusion"):
            if getattr(self, name) not in FUSIONS:
                raise ValueError(f"{name} must be one of {', '.join(FUSIONS)}, got {getattr(self, name)!r}")
        if self.d_model % self.heads or self.decoder_hidden % self.decoder_heads:
            raise ValueError("widths must be multiples of their head counts")
        if self.max_length < 3 or self.max_length > self.decoder_positions:
            raise ValueError(f"max_length must be in 3..decoder_positions, got {self.max_length}")

    @property
    def box_dim(self) -> int:
        return self.box_tokens * self.box_token_dim

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> SemanticConfig:
        from smot.models.checkpoint import config_from_dict

        return config_from_dict(cls, d, "semantic")

    def replace(self, **changes) -> SemanticConfig:
        return replace(self, **changes)


PRESETS = {
    "paper": SemanticConfig(),
    # narrow blocks and a 2-layer decoder of width 128: trains with the tiny detector on a 2-core CPU
    # (measured in docs/semantics.md: motion tokens and the joined video memory are on, the box
    # features unnormalised because the tiny box head standardises its own inputs)
    "tiny": SemanticConfig(
        d_model=128, heads=4, ffn=256, max_video_frames=8, max_track_frames=32, video_fusion="addition",
        trajectory_fusion="addition", video_caption_memory="joined", motion_tokens=8,
        interaction_tokens=8, interaction_hidden=256, shared_decoder=False, decoder_layers=2,
        decoder_hidden=128, decoder_heads=4, decoder_ffn=256, decoder_positions=64, max_length=64),
}


# --------------------------------------------------------------------------------------------
# blocks (reference §4.4: post-norm, dropout 0.1, ReLU FFN)


class CrossAttentionBlock(nn.Module):
    """CA(z, u): z attends to u, residual, LayerNorm; FFN, residual, LayerNorm. No self-attention."""

    def __init__(self, d: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn, d))
        self.norm2 = nn.LayerNorm(d)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)

    def forward(self, z: torch.Tensor, u: torch.Tensor, u_pad: torch.Tensor | None = None) -> torch.Tensor:
        # z (B, Q, d), u (B, K, d), u_pad (B, K) True where u is padding
        z = self.norm1(z + self.drop1(self.attention(z, u, u, key_padding_mask=u_pad, need_weights=False)[0]))
        return self.norm2(z + self.drop2(self.ffn(z)))  # (B, Q, d)


class SelfAttentionBlock(nn.Module):
    """SA(z): the official trajectory encoder, self-attention, residual, LayerNorm (no FFN)."""

    def __init__(self, d: int, heads: int, dropout: float):
        super().__init__()
        self.attention = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(d)
        self.drop = nn.Dropout(dropout)

    def forward(self, z: torch.Tensor, pad: torch.Tensor | None = None) -> torch.Tensor:
        # z (B, L, d), pad (B, L) True where z is padding
        return self.norm(z + self.drop(self.attention(z, z, z, key_padding_mask=pad, need_weights=False)[0]))


class MLPStep(nn.Module):
    """S_i = LN(S_{i-1} + MLP([S_{i-1}; x_i])), token by token."""

    def __init__(self, d: int, ffn: int, dropout: float):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(2 * d, ffn), nn.ReLU(), nn.Dropout(dropout), nn.Linear(ffn, d))
        self.norm = nn.LayerNorm(d)

    def forward(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:  # (B, T, d) each
        return self.norm(state + self.mlp(torch.cat([state, x], dim=-1)))


def even_steps(length: int, cap: int) -> torch.Tensor:
    """Indices of at most `cap` steps spread evenly over 0..length-1, first and last included."""
    if length <= cap:
        return torch.arange(length)
    if cap == 1:
        return torch.zeros(1, dtype=torch.long)
    return torch.round(torch.arange(cap, dtype=torch.float64) * (length - 1) / (cap - 1)).long()


def sinusoid(positions: torch.Tensor, d: int) -> torch.Tensor:
    """(n,) positions -> (n, d) sine/cosine encodings (Vaswani et al. 2017)."""
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32) * (-math.log(10000.0) / d))
    angle = positions.float()[:, None] * freq[None]
    return torch.stack([angle.sin(), angle.cos()], dim=-1).flatten(1)[:, :d]


class StepFusion(nn.Module):
    """Fuse a padded batch of step sequences x (B, N, T, d), lengths (B,), by one Table 4 variant.

    Returns tokens (B, M, d) and their padding mask (B, M) (True = padding); M = T except for
    concatenation, where M = T * min(N, cap).
    """

    def __init__(self, kind: str, d: int, heads: int, ffn: int, dropout: float, init_steps: int, cap: int):
        super().__init__()
        self.kind, self.init_steps, self.cap = kind, init_steps, cap
        if kind == "attention":
            self.step = CrossAttentionBlock(d, heads, ffn, dropout)
        elif kind == "mlp":
            self.step = MLPStep(d, ffn, dropout)
        elif kind == "concatenation":
            self.encoder = SelfAttentionBlock(d, heads, dropout)
        else:
            self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, N, T, d = x.shape
        steps = torch.arange(N, device=x.device)
        valid = steps[None] < lengths[:, None]  # (B, N)
        if self.kind == "concatenation":
            return self._concatenate(x, lengths)
        if self.kind == "addition":
            mean = (x * valid[..., None, None]).sum(1) / lengths[:, None, None].clamp(min=1)  # (B, T, d)
            return self.norm(mean), x.new_zeros(B, T, dtype=torch.bool)
        k = torch.minimum(lengths.clamp(min=1), torch.full_like(lengths, self.init_steps))  # (B,)
        first = steps[None] < k[:, None]  # (B, N)
        state = (x * first[..., None, None]).sum(1) / k[:, None, None]  # (B, T, d) mean of the first k
        for i in range(int(k.min()), N):
            update = (i >= k) & valid[:, i]  # (B,) sequences whose step i follows their initial mean
            if not update.any():
                continue
            new = self.step(state, x[:, i]) if self.kind == "mlp" else self.step(state, x[:, i], None)
            state = torch.where(update[:, None, None], new, state)
        return state, x.new_zeros(B, T, dtype=torch.bool)

    def _concatenate(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, N, T, d = x.shape
        kept = [even_steps(int(n), self.cap).to(x.device) for n in lengths.tolist()]
        K = max(len(k) for k in kept)
        tokens = x.new_zeros(B, K, T, d)
        pad = torch.ones(B, K, T, dtype=torch.bool, device=x.device)
        for b, idx in enumerate(kept):
            tokens[b, : len(idx)] = x[b, idx]
            pad[b, : len(idx)] = False
        tokens, pad = tokens.reshape(B, K * T, d), pad.reshape(B, K * T)  # time order, T tokens a step
        return self.encoder(tokens, pad), pad


# --------------------------------------------------------------------------------------------
# fusion modules (paper §4.2)


class VideoFusion(nn.Module):
    """Eq. 1: per-frame context tokens (N, C, Dc) of one video -> the video feature F~ (T, d)."""

    def __init__(self, c: SemanticConfig):
        super().__init__()
        self.norm = InputNorm(c.input_norm, c.context_tokens, c.context_dim)  # (N, C, Dc): per channel
        self.project = nn.Identity() if c.context_dim == c.d_model else nn.Linear(c.context_dim, c.d_model)
        self.fuse = StepFusion(c.video_fusion, c.d_model, c.heads, c.ffn, c.dropout, c.video_init_frames,
                               c.max_video_frames)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        x = self.project(self.norm(context))[None]  # (1, N, C, d)
        tokens, _ = self.fuse(x, torch.tensor([x.shape[1]], device=x.device))
        return tokens[0]  # (T, d)


GEOMETRY = 5  # per box: time in the video (0..1), box centre x, y, width, height (fractions of the frame)


def box_geometry(numbers, boxes, frames: int, width: float, height: float) -> torch.Tensor:
    """(L, GEOMETRY) rows of one track: frame numbers (L,), xyxy source-pixel boxes (L, 4) of a
    video of `frames` frames (1-based) and size width x height."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    t = (torch.as_tensor(numbers, dtype=torch.float32) - 1) / max(1, frames - 1)
    w, h = max(width, 1.0), max(height, 1.0)
    cx = (boxes[:, 0] + boxes[:, 2]) / (2 * w)
    cy = (boxes[:, 1] + boxes[:, 3]) / (2 * h)
    return torch.stack([t.clamp(0, 1), cx, cy, (boxes[:, 2] - boxes[:, 0]) / w, (boxes[:, 3] - boxes[:, 1]) / h], 1)


class MotionEncoder(nn.Module):
    """A track's boxes over time -> `motion_tokens` tokens (K, d): the video's time cut into K equal
    parts, token k from whether the track is seen in part k and its mean box there (zeros where it
    is not), through an MLP, plus a sinusoidal code of k. Directions, speed,
    approach and who is beside whom when are read from these; the appearance tokens say none of it."""

    def __init__(self, c: SemanticConfig):
        super().__init__()
        self.k = c.motion_tokens
        self.mlp = nn.Sequential(nn.Linear(GEOMETRY, c.d_model), nn.ReLU(), nn.Linear(c.d_model, c.d_model))
        self.norm = nn.LayerNorm(c.d_model)

    def forward(self, geometry: torch.Tensor) -> torch.Tensor:
        """geometry (L, GEOMETRY) rows of box_geometry -> (K, d)."""
        k = self.k
        part = (geometry[:, 0] * k).long().clamp(0, k - 1)  # (L,)
        one_hot = F.one_hot(part, k).to(geometry.dtype)  # (L, K)
        count = one_hot.sum(0)  # (K,)
        mean = (one_hot.T @ geometry[:, 1:]) / count.clamp(min=1)[:, None]  # (K, 4)
        # per part: seen or not, then the mean box relative to the frame's centre
        seen = (count > 0).to(geometry.dtype)
        rows = torch.cat([seen[:, None], (mean - mean.new_tensor([0.5, 0.5, 0.0, 0.0])) * seen[:, None]], 1)
        codes = sinusoid(torch.arange(k, device=geometry.device), self.mlp[-1].out_features).to(geometry.dtype)
        return self.norm(self.mlp(rows) + codes)


class TrajectoryFusion(nn.Module):
    """Eq. 2: per-frame box features of each track (L_j, box_dim), in time order -> T~_j (M_j, d).

    A box feature is read as `box_tokens` consecutive pieces of `box_token_dim` (the official
    reshape of the 1024-d FC output into 4 tokens of 256, reference §4.5).
    """

    def __init__(self, c: SemanticConfig):
        super().__init__()
        self.c = c
        self.norm = InputNorm(c.input_norm, c.box_dim, c.box_dim)  # (boxes, box_dim): per dimension
        self.project = nn.Identity() if c.box_token_dim == c.d_model else nn.Linear(c.box_token_dim, c.d_model)
        self.fuse = StepFusion(c.trajectory_fusion, c.d_model, c.heads, c.ffn, c.dropout, 1, c.max_track_frames)
        self.motion = MotionEncoder(c) if c.motion_tokens else None

    def forward(self, tracks: list[torch.Tensor], geometry: list[torch.Tensor] | None = None) -> list[torch.Tensor]:
        """tracks [(L_j, box_dim)], geometry [(L_j, GEOMETRY)] (box_geometry; needed with
        motion_tokens) -> [(M_j [+ motion_tokens], d)]."""
        c = self.c
        if self.motion is not None and (geometry is None or len(geometry) != len(tracks)):
            raise ValueError("this model's trajectory features need the tracks' boxes (motion_tokens)")
        lengths = torch.tensor([len(t) for t in tracks], device=tracks[0].device)
        N = int(lengths.max())
        # normalised before padding, so batch statistics see real boxes only
        tracks = self.norm(torch.cat(tracks)).split(lengths.tolist())
        x = tracks[0].new_zeros(len(tracks), N, c.box_tokens, c.box_token_dim)
        for b, t in enumerate(tracks):
            x[b, : len(t)] = t.reshape(len(t), c.box_tokens, c.box_token_dim)
        x = self.project(x)  # (B, N, 4, d)
        if c.temporal_encoding:
            x = x + sinusoid(torch.arange(N, device=x.device), c.d_model).to(x.dtype)[None, :, None]
        tokens, pad = self.fuse(x, lengths)  # (B, M, d), (B, M)
        out = [tokens[b][~pad[b]] for b in range(len(tracks))]
        if self.motion is not None:
            out = [torch.cat([o, self.motion(g.to(o.dtype))]) for o, g in zip(out, geometry, strict=True)]
        return out


def pad_tokens(items: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """[(M_i, d)] -> tokens (B, M, d) zero-padded and the padding mask (B, M) (True = padding)."""
    M = max(len(t) for t in items)
    tokens = items[0].new_zeros(len(items), M, items[0].shape[-1])
    pad = torch.ones(len(items), M, dtype=torch.bool, device=items[0].device)
    for b, t in enumerate(items):
        tokens[b, : len(t)] = t
        pad[b, : len(t)] = False
    return tokens, pad


# --------------------------------------------------------------------------------------------
# the text decoder (reference §4.8)


class TextDecoder(nn.Module):
    """A BERT-style decoder (transformers `BertLMHeadModel`) cross-attending to a memory.

    Text is [bos] caption word-pieces [eos], at most `max_length` tokens; the loss is next-token
    cross-entropy with label smoothing, padding ignored.
    """

    def __init__(self, c: SemanticConfig, pad_id: int, bos_id: int, eos_id: int):
        super().__init__()
        from transformers import BertConfig, BertLMHeadModel

        self.c, self.pad_id, self.bos_id, self.eos_id = c, pad_id, bos_id, eos_id
        config = BertConfig(
            vocab_size=c.vocab_size, hidden_size=c.decoder_hidden, num_hidden_layers=c.decoder_layers,
            num_attention_heads=c.decoder_heads, intermediate_size=c.decoder_ffn, hidden_act="gelu",
            hidden_dropout_prob=c.dropout, attention_probs_dropout_prob=c.dropout,
            max_position_embeddings=c.decoder_positions, type_vocab_size=1, is_decoder=True,
            add_cross_attention=True, pad_token_id=pad_id, bos_token_id=bos_id, eos_token_id=eos_id,
            tie_word_embeddings=True)
        self.bert = BertLMHeadModel(config)
        self.prefix = nn.Linear(c.decoder_hidden, c.decoder_hidden) if c.memory_prefix else None

    def _inputs(self, memory: torch.Tensor, memory_pad: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor
                ) -> dict[str, torch.Tensor]:
        """The decoder's input arguments for token ids (B, S): with `memory_prefix`, embeddings with
        the memory's token ahead of them (B, 1 + S, H)."""
        common = {"encoder_hidden_states": memory, "encoder_attention_mask": (~memory_pad).long()}
        if self.prefix is None:
            return {"input_ids": ids, "attention_mask": attention, **common}
        valid = (~memory_pad).to(memory.dtype)[..., None]  # (B, M, 1)
        first = self.prefix((memory * valid).sum(1) / valid.sum(1).clamp(min=1))[:, None]  # (B, 1, H)
        words = self.bert.get_input_embeddings()(ids)  # (B, S, H)
        return {"inputs_embeds": torch.cat([first.to(words.dtype), words], 1),
                "attention_mask": torch.cat([attention.new_ones(len(ids), 1), attention], 1), **common}

    def _logits(self, memory: torch.Tensor, memory_pad: torch.Tensor, ids: torch.Tensor, attention: torch.Tensor
                ) -> torch.Tensor:
        """(B, S, V): the next-token logits after each of the token ids (B, S)."""
        logits = self.bert(**self._inputs(memory, memory_pad, ids, attention), use_cache=False).logits
        return logits if self.prefix is None else logits[:, 1:]

    def loss(self, memory: torch.Tensor, memory_pad: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """memory (B, M, H), memory_pad (B, M) True = padding, text (B, S) ids padded with pad_id."""
        attention = (text != self.pad_id).long()
        logits = self._logits(memory, memory_pad, text[:, :-1], attention[:, :-1])  # (B, S-1, V)
        target = text[:, 1:].masked_fill(attention[:, 1:] == 0, -100)
        return F.cross_entropy(logits.float().transpose(1, 2), target, ignore_index=-100,
                               label_smoothing=self.c.label_smoothing)

    @torch.no_grad()
    def generate(self, memory: torch.Tensor, memory_pad: torch.Tensor, beams: int = 1,
                 max_length: int | None = None) -> tuple[list[list[int]], list[float]]:
        """Greedy (beams=1) or beam search; per item the token ids (without bos/eos) and their mean
        log-probability under the model (the decoder's confidence)."""
        import transformers
        from transformers.cache_utils import DynamicCache, EncoderDecoderCache

        B = memory.shape[0]
        max_length = min(max_length or self.c.max_length, self.c.decoder_positions - (self.prefix is not None))
        start = torch.full((B, 1), self.bos_id, dtype=torch.long, device=memory.device)
        # transformers 5 needs an encoder-decoder cache for a decoder with cross-attention, and
        # renamed the argument (reference: environment notes)
        cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
        cache_arg = {"cache": cache} if int(transformers.__version__.split(".")[0]) >= 5 else {"past_key_values": cache}
        inputs = self._inputs(memory, memory_pad, start, torch.ones_like(start))
        out = self.bert.generate(
            **inputs, max_new_tokens=max_length - 1, num_beams=beams, do_sample=False, eos_token_id=self.eos_id,
            pad_token_id=self.pad_id, bos_token_id=self.bos_id, **cache_arg)
        # with embeddings as input, generate returns the new tokens only
        seq = out if self.prefix is None else torch.cat([start, out], 1)  # (B, S) from bos
        # the score: mean log-probability of the emitted tokens, up to and including the end token
        ended = (seq == self.eos_id).int().cumsum(1)
        emitted = torch.zeros_like(seq, dtype=torch.bool)
        emitted[:, 1:] = (ended[:, :-1] == 0)  # every token after bos up to the first eos
        logits = self._logits(memory, memory_pad, seq, torch.ones_like(seq))
        logp = torch.log_softmax(logits[:, :-1].float(), -1).gather(2, seq[:, 1:, None])[..., 0]  # (B, S-1)
        mask = emitted[:, 1:]
        scores = (logp * mask).sum(1) / mask.sum(1).clamp(min=1)
        ids = []
        for row, keep in zip(seq.tolist(), emitted.tolist(), strict=True):
            ids.append([t for t, k in zip(row, keep, strict=True) if k and t != self.eos_id])
        return ids, scores.tolist()


# --------------------------------------------------------------------------------------------
# the heads (paper §4.3)


class MemoryProjection(nn.Module):
    """The `Linear` of Eq. 3-4: fused tokens (B, M, d) -> decoder memory (B, M, H), LayerNorm'd
    as the official memory projection (reference §4.8)."""

    def __init__(self, d: int, hidden: int):
        super().__init__()
        self.linear, self.norm = nn.Linear(d, hidden), nn.LayerNorm(hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.norm(self.linear(tokens))


class InteractionHead(nn.Module):
    """Eq. 5: CA(active tokens, passive tokens) -> adaptive average pool of the active token axis to
    `interaction_tokens` -> flatten -> MLP -> one logit per predicate (multi-label, directed)."""

    def __init__(self, c: SemanticConfig):
        super().__init__()
        self.c = c
        self.attend = CrossAttentionBlock(c.d_model, c.heads, c.ffn, c.dropout)
        n = max(len(c.predicates), 1)
        self.mlp = nn.Sequential(
            nn.Linear(c.interaction_tokens * c.d_model, c.interaction_hidden), nn.ReLU(),
            nn.Linear(c.interaction_hidden, c.interaction_hidden), nn.ReLU(),
            nn.Linear(c.interaction_hidden, n))

    def forward(self, active: torch.Tensor, active_pad: torch.Tensor, passive: torch.Tensor,
                passive_pad: torch.Tensor) -> torch.Tensor:
        fused = self.attend(active, passive, passive_pad)  # (B, La, d)
        pooled = adaptive_pool(fused, active_pad, self.c.interaction_tokens)  # (B, P, d)
        return self.mlp(pooled.flatten(1))  # (B, labels)


def adaptive_pool(tokens: torch.Tensor, pad: torch.Tensor, out: int) -> torch.Tensor:
    """`F.adaptive_avg_pool1d` over each item's own valid tokens: (B, L, d) -> (B, out, d).

    Bin i of an item with n tokens averages tokens floor(i n / out) .. ceil((i + 1) n / out) - 1,
    PyTorch's adaptive pooling rule (it repeats tokens when n < out).
    """
    B, L, _ = tokens.shape
    n = (~pad).sum(1)  # (B,)
    i = torch.arange(out, device=tokens.device)
    start = torch.div(i[None] * n[:, None], out, rounding_mode="floor")  # (B, out)
    end = torch.div((i[None] + 1) * n[:, None] + out - 1, out, rounding_mode="floor")
    j = torch.arange(L, device=tokens.device)
    weights = ((j[None, None] >= start[..., None]) & (j[None, None] < end[..., None])).to(tokens.dtype)
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1)  # (B, out, L)
    return weights @ tokens


def focal_bce(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """(1 - p_t)^gamma * BCE, averaged over pairs and labels, no alpha (reference §4.7)."""
    logits = logits.float()
    bce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    return ((1 - p_t) ** gamma * bce).mean()


class SemanticModel(nn.Module):
    """Fusion and heads. Inputs are float tensors; one video at a time for the video branch."""

    def __init__(self, c: SemanticConfig, pad_id: int, bos_id: int, eos_id: int):
        super().__init__()
        if c.vocab_size < 1:
            raise ValueError("vocab_size must be set (from the tokenizer)")
        self.config = c
        self.video_fusion = VideoFusion(c)
        self.trajectory_fusion = TrajectoryFusion(c)
        self.video_inject = CrossAttentionBlock(c.d_model, c.heads, c.ffn, c.dropout)  # CA_vt of Eq. 3
        self.video_memory = MemoryProjection(c.d_model, c.decoder_hidden)
        self.instance_memory = MemoryProjection(c.d_model, c.decoder_hidden)
        self.instance_decoder = TextDecoder(c, pad_id, bos_id, eos_id)
        self.video_decoder = self.instance_decoder if c.shared_decoder else TextDecoder(c, pad_id, bos_id, eos_id)
        self.interaction = InteractionHead(c)

    # -- fusion -----------------------------------------------------------------------------------

    def fuse(self, context: torch.Tensor | None, tracks: list[torch.Tensor],
             geometry: list[torch.Tensor] | None = None) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """context (N, C, Dc) of one video, tracks [(L_j, box_dim)] and their boxes [(L_j, GEOMETRY)]
        -> F~ (T, d), [T~_j (M_j, d)]."""
        video = self.video_fusion(context) if context is not None and len(context) else None
        return video, (self.trajectory_fusion(tracks, geometry) if tracks else [])

    # -- the heads' inputs ------------------------------------------------------------------------

    def video_caption_memory(self, video: torch.Tensor, trajectories: list[torch.Tensor]
                             ) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 3 before the decoder: inject each trajectory into the video feature by cross-attention,
        in the given order (first appearance, as the official code), then Linear. -> (1, T, H), pad."""
        state = video[None]  # (1, T, d)
        for t in trajectories:
            state = self.video_inject(state, t[None])
        if self.config.video_caption_memory == "joined" and trajectories:
            state = torch.cat([state, *(t[None] for t in trajectories)], 1)  # (1, T + sum M_j, d)
        memory = self.video_memory(state)
        return memory, torch.zeros(memory.shape[:2], dtype=torch.bool, device=memory.device)

    def instance_caption_memory(self, trajectories: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Eq. 4 before the decoder: Linear of each trajectory feature. -> (B, M, H), pad (B, M)."""
        tokens, pad = pad_tokens(trajectories)
        return self.instance_memory(tokens), pad

    def interaction_logits(self, trajectories: list[torch.Tensor], pairs: list[tuple[int, int]]) -> torch.Tensor:
        """Eq. 5 for ordered (active, passive) index pairs into `trajectories`. -> (P, labels)."""
        tokens, pad = pad_tokens(trajectories)
        a = torch.tensor([p[0] for p in pairs], device=tokens.device)
        b = torch.tensor([p[1] for p in pairs], device=tokens.device)
        return self.interaction(tokens[a], pad[a], tokens[b], pad[b])

    # -- training ---------------------------------------------------------------------------------

    def losses(self, video: torch.Tensor | None, trajectories: list[torch.Tensor], captions: list[torch.Tensor | None],
               summary: torch.Tensor | None, pairs: list[tuple[int, int]], pair_labels: torch.Tensor | None
               ) -> dict[str, torch.Tensor]:
        """The semantic losses of one video (reference §4.9); a term is absent when it has no target.

        captions[j]: token ids of trajectory j's caption target or None; summary: token ids of the
        video caption; pairs and pair_labels (P, labels) multi-hot: the interaction targets.
        """
        out: dict[str, torch.Tensor] = {}
        captioned = [j for j, cap in enumerate(captions) if cap is not None]
        if captioned:
            memory, pad = self.instance_caption_memory([trajectories[j] for j in captioned])
            text = pad_text([captions[j] for j in captioned], self.instance_decoder.pad_id)
            out["caption"] = self.instance_decoder.loss(memory, pad, text)
        if summary is not None and video is not None:
            memory, pad = self.video_caption_memory(video, trajectories)
            out["summary"] = self.video_decoder.loss(memory, pad, summary[None])
        if pairs and pair_labels is not None and self.config.predicates:
            logits = self.interaction_logits(trajectories, pairs)
            out["interaction"] = focal_bce(logits, pair_labels.to(logits.dtype), self.config.focal_gamma)
        return out


def pad_text(texts: list[torch.Tensor], pad_id: int) -> torch.Tensor:
    S = max(len(t) for t in texts)
    out = torch.full((len(texts), S), pad_id, dtype=torch.long, device=texts[0].device)
    for i, t in enumerate(texts):
        out[i, : len(t)] = t
    return out


# --------------------------------------------------------------------------------------------
# the model with its tokenizer, as stored in a checkpoint


class Semantics:
    """The semantic model and its tokenizer: what `smot fuse`, `caption` and `interact` load.

    In a checkpoint (smot/models/checkpoint.py): config["semantic"] (SemanticConfig as a dict),
    weights["semantic"] (the state dict) and data["tokenizer"] (tokenizer.to_data).
    """

    def __init__(self, model: SemanticModel, tokenizer):
        self.model, self.tokenizer = model, tokenizer
        self.config: SemanticConfig = model.config

    @classmethod
    def build(cls, config: SemanticConfig, tokenizer) -> Semantics:
        config = config.replace(vocab_size=len(tokenizer))
        return cls(SemanticModel(config, tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id),
                   tokenizer)

    def encode(self, text: str) -> list[int]:
        """[bos] word-pieces [eos], the pieces cut to max_length - 2 (the end of a long caption goes)."""
        pieces = self.tokenizer(text, add_special_tokens=False)["input_ids"][: self.config.max_length - 2]
        return [self.tokenizer.bos_token_id, *pieces, self.tokenizer.eos_token_id]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True).strip()

    def checkpoint_parts(self) -> dict:
        """The entries this part adds to a checkpoint's config, weights and data."""
        from smot.models.tokenizer import to_data

        return {"config": {"semantic": self.config.to_dict()},
                "weights": {"semantic": self.model.state_dict()},
                "tokenizer": to_data(self.tokenizer)}

    @classmethod
    def from_checkpoint(cls, checkpoint) -> Semantics:
        """From a loaded checkpoint (smot.models.checkpoint.Checkpoint) that holds the semantic part."""
        from smot.errors import InputError
        from smot.models.tokenizer import from_data

        try:
            config = SemanticConfig.from_dict(checkpoint.config["semantic"])
            tokenizer = from_data(checkpoint.data["tokenizer"])
            semantics = cls(SemanticModel(config, tokenizer.pad_token_id, tokenizer.bos_token_id,
                                          tokenizer.eos_token_id), tokenizer)
            semantics.model.load_state_dict(checkpoint.data["weights"]["semantic"])
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise InputError(f"the semantic model in {checkpoint.path} does not load: {first[:200]}") from None
        semantics.model.eval()
        return semantics

    def to(self, device) -> Semantics:
        self.model.to(device)
        return self


def load_semantics(path: str, device: str = "cpu") -> tuple[Semantics, object]:
    """(Semantics in eval mode on `device`, checkpoint) from a checkpoint file."""
    from smot.models.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(path, "semantic")
    return Semantics.from_checkpoint(checkpoint).to(device), checkpoint
