"""Writes a tiny random llama model as a GGUF file that llama.cpp's server loads (~0.6 MB).

Usage: python tiny_gguf.py OUT.gguf [--layers 2] [--embd 64] [--ff 128] [--heads 4]
       [--kv-heads 4] [--ctx 2048] [--seed 0] [--allow-eos]

Needs the ``gguf`` package (and numpy). The vocabulary is SentencePiece-style and lives in the
file: unknown, BOS, EOS, the two ChatML markers, the 256 byte tokens (byte fallback: without them
llama.cpp aborts on a character outside the vocabulary) and then printable ASCII pieces and
common words. A ChatML template makes /v1/chat/completions work.

Unless ``--allow-eos``, the model can only emit the printable pieces, so every request streams
exactly ``max_tokens`` tokens, one SSE chunk each, whatever the sampler: embedding dimension 0 is
a positive constant that no layer writes to, and the output row of every other token type has a
large negative weight on that dimension, which pushes their logits far below the rest.
"""

from __future__ import annotations

import argparse
import string
from dataclasses import dataclass
from pathlib import Path

import gguf
import numpy as np

WORDS = (
    "the of and to in is you that it he was for on are as with his they at be this have from or one "
    "had by word but not what all were we when your can said there use an each which she do how "
    "their if will up other about out many then them these so some her would make like him into "
    "time has look two more write go see number no way could people my than first water been call "
    "who oil its now find long down day did get come made may part hello world token stream load "
    "test bench fast model serve"
).split()

CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] "
    "+ '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)

#: Name the server reports for the model when started with it (its alias).
MODEL_NAME = "tiny"


@dataclass(frozen=True)
class Shape:
    layers: int = 2
    embd: int = 64
    ff: int = 128
    heads: int = 4
    kv_heads: int = 4
    ctx: int = 2048


@dataclass(frozen=True)
class Vocabulary:
    tokens: list[str]
    scores: list[float]
    types: list[int]

    @property
    def printable(self) -> np.ndarray:
        return np.array([t == gguf.TokenType.NORMAL for t in self.types])


def vocabulary() -> Vocabulary:
    kinds = gguf.TokenType
    entries: list[tuple[str, int, float]] = [
        ("<unk>", kinds.UNKNOWN, 0.0),
        ("<s>", kinds.CONTROL, 0.0),
        ("</s>", kinds.CONTROL, 0.0),
        ("<|im_start|>", kinds.CONTROL, 0.0),
        ("<|im_end|>", kinds.CONTROL, 0.0),
    ]
    entries += [(f"<0x{b:02X}>", kinds.BYTE, 0.0) for b in range(256)]
    space = "\u2581"  # SentencePiece's word-start marker
    pieces = [
        space,
        *string.printable[:94],
        *(space + c for c in string.ascii_letters),
        *(space + w for w in WORDS),
    ]
    seen = {e[0] for e in entries}
    for rank, piece in enumerate(pieces):
        if piece not in seen:
            seen.add(piece)
            entries.append((piece, kinds.NORMAL, -float(rank)))  # earlier pieces win ties
    return Vocabulary(
        [e[0] for e in entries], [e[2] for e in entries], [int(e[1]) for e in entries]
    )


BOS_ID, EOS_ID, UNK_ID = 1, 2, 0
#: Ids of the printable pieces: prompts of these ids detokenize to plain text.
FIRST_PRINTABLE_ID = 5 + 256


def weights(shape: Shape, vocab: Vocabulary, seed: int, allow_eos: bool) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def random(*dims: int, std: float) -> np.ndarray:
        return (rng.standard_normal(dims) * std).astype(np.float32)

    n_vocab, e, head_dim = len(vocab.tokens), shape.embd, shape.embd // shape.heads
    embeddings = random(n_vocab, e, std=0.5)
    output = random(n_vocab, e, std=0.5)
    if not allow_eos:
        embeddings[:, 0] = 4.0
        output[:, 0] = 0.0
        output[~vocab.printable, 0] = -200.0
    tensors = {
        "token_embd.weight": embeddings,
        "output_norm.weight": np.ones(e, dtype=np.float32),
        "output.weight": output,
    }
    for i in range(shape.layers):
        attn_out = random(e, e, std=0.1)
        ffn_down = random(e, shape.ff, std=0.1)
        if not allow_eos:
            attn_out[0, :] = 0.0  # keep dimension 0 constant through the residual stream
            ffn_down[0, :] = 0.0
        block = f"blk.{i}."
        tensors.update(
            {
                block + "attn_norm.weight": np.ones(e, dtype=np.float32),
                block + "attn_q.weight": random(e, e, std=0.1),
                block + "attn_k.weight": random(shape.kv_heads * head_dim, e, std=0.1),
                block + "attn_v.weight": random(shape.kv_heads * head_dim, e, std=0.1),
                block + "attn_output.weight": attn_out,
                block + "ffn_norm.weight": np.ones(e, dtype=np.float32),
                block + "ffn_gate.weight": random(shape.ff, e, std=0.1),
                block + "ffn_up.weight": random(shape.ff, e, std=0.1),
                block + "ffn_down.weight": ffn_down,
            }
        )
    return tensors


def write_tiny_gguf(
    out: Path, shape: Shape = Shape(), seed: int = 0, allow_eos: bool = False
) -> Path:
    if shape.embd % shape.heads or shape.heads % shape.kv_heads:
        raise ValueError(f"embd must divide by heads and heads by kv_heads: {shape}")
    vocab = vocabulary()
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name("tiny-random-llama")
    writer.add_context_length(shape.ctx)
    writer.add_embedding_length(shape.embd)
    writer.add_block_count(shape.layers)
    writer.add_feed_forward_length(shape.ff)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_rope_dimension_count(shape.embd // shape.heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(vocab.tokens))
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(vocab.tokens)
    writer.add_token_scores(vocab.scores)
    writer.add_token_types(vocab.types)
    writer.add_bos_token_id(BOS_ID)
    writer.add_eos_token_id(EOS_ID)
    writer.add_unk_token_id(UNK_ID)
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_chat_template(CHATML_TEMPLATE)
    for name, array in weights(shape, vocab, seed, allow_eos).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def vocab_size() -> int:
    return len(vocabulary().tokens)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--embd", type=int, default=64)
    parser.add_argument("--ff", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=4)
    parser.add_argument("--ctx", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--allow-eos", action="store_true", help="a plain random model (may stop early)"
    )
    a = parser.parse_args()
    shape = Shape(a.layers, a.embd, a.ff, a.heads, a.kv_heads, a.ctx)
    write_tiny_gguf(a.out, shape, a.seed, a.allow_eos)
    print(f"wrote {a.out}: {vocab_size()} tokens, {shape}, eos allowed: {a.allow_eos}")


if __name__ == "__main__":
    main()
