"""Datasets for network benchmarks: JSONL, synthetic LLM prompts, numpy tensors."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from loadgen.net.datasets import (
    Dataset,
    DatasetError,
    Fixed,
    Normal,
    Sample,
    Uniform,
    load_jsonl,
    load_tensors,
    parse_length,
    random_tensors,
    synthetic_llm,
)


def write_lines(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------ Dataset


def test_dataset_is_a_sequence_with_a_performance_sample_count() -> None:
    samples = [Sample(prompt=str(i)) for i in range(5)]
    ds = Dataset(samples, performance_sample_count=3)
    assert len(ds) == 5 and ds[4].prompt == "4" and list(ds) == samples
    assert [s.prompt for s in ds[1:3]] == ["1", "2"]
    assert ds.performance_sample_count == 3
    assert Dataset(samples).performance_sample_count == 5


@pytest.mark.parametrize("count", [0, 6])
def test_dataset_rejects_a_performance_sample_count_out_of_range(count: int) -> None:
    with pytest.raises(DatasetError, match=r"1\.\.5"):
        Dataset([Sample(prompt="x")] * 5, performance_sample_count=count)


def test_dataset_rejects_no_samples() -> None:
    with pytest.raises(DatasetError, match="at least one"):
        Dataset([])


# -------------------------------------------------------------------------------------- JSONL


def test_jsonl_reads_prompts_messages_and_token_ids(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path,
        json.dumps({"prompt": "Hello", "max_tokens": 7}),
        "",
        json.dumps({"messages": [{"role": "user", "content": "Hi"}]}),
        json.dumps({"token_ids": [5, 6, 7], "extra_body": {"ignore_eos": True}}),
        json.dumps({"prompt": [9, 10]}),
    )
    ds = load_jsonl(path, max_tokens=32)
    assert len(ds) == 4
    assert ds[0] == Sample(prompt="Hello", max_tokens=7)
    assert ds[1].messages == ({"role": "user", "content": "Hi"},) and ds[1].max_tokens == 32
    assert ds[2].token_ids == (5, 6, 7) and ds[2].extra_body == {"ignore_eos": True}
    assert ds[3].token_ids == (9, 10) and ds[3].prompt is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('{"promt": "x"}', "unknown key(s) 'promt'"),
        ('{"max_tokens": 3}', "needs exactly one of 'prompt', 'messages' or 'token_ids'"),
        ('{"prompt": "a", "token_ids": [1]}', "got prompt and token_ids"),
        ('{"prompt": 5}', "'prompt' must be a string or a list of token ids"),
        ('{"token_ids": [1, -2]}', "non-negative integers, found -2"),
        ('{"token_ids": []}', "non-empty list"),
        ('{"messages": [{"content": "x"}]}', "messages[0] must be an object with a string 'role'"),
        ('{"prompt": "a", "max_tokens": 0}', "'max_tokens' must be a positive integer, got 0"),
        ('{"prompt": "a", "max_tokens": 2.5}', "got 2.5"),
        ('{"prompt": "a", "extra_body": [1]}', "'extra_body' must be an object"),
    ],
)
def test_jsonl_names_the_line_of_a_malformed_record(
    tmp_path: Path, line: str, message: str
) -> None:
    path = write_lines(tmp_path, '{"prompt": "fine"}', line)
    with pytest.raises(DatasetError) as info:
        load_jsonl(path)
    text = str(info.value)
    assert text.startswith(f"{path}:2: ")
    assert message in text


def test_jsonl_errors_for_a_missing_or_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_jsonl(tmp_path / "absent.jsonl")
    with pytest.raises(DatasetError, match="no samples"):
        load_jsonl(write_lines(tmp_path, "", "  "))
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes(b'{"prompt": "\xe9"}\n')
    with pytest.raises(DatasetError, match="not UTF-8"):
        load_jsonl(bad)


# ------------------------------------------------------------------------ length distributions


def test_length_specs_parse_to_distributions() -> None:
    assert parse_length("128") == Fixed(128)
    assert parse_length(7) == Fixed(7)
    assert parse_length("uniform:4:9") == Uniform(4, 9)
    assert parse_length("normal:100:20") == Normal(100.0, 20.0)
    assert parse_length("normal:100:20:50:150") == Normal(100.0, 20.0, 50, 150)
    for bad in ("", "x", "uniform:5", "uniform:9:4", "normal:1", "0", "lognormal:1:2"):
        with pytest.raises(DatasetError):
            parse_length(bad)


def test_uniform_covers_its_bounds_and_normal_is_clipped() -> None:
    rng = random.Random(1)
    drawn = {Uniform(3, 5).draw(rng) for _ in range(200)}
    assert drawn == {3, 4, 5}
    normal = [Normal(10, 50, low=4, high=20).draw(rng) for _ in range(2000)]
    assert min(normal) == 4 and max(normal) == 20
    centred = [Normal(100, 5).draw(rng) for _ in range(2000)]
    assert 99 < sum(centred) / len(centred) < 101


# ------------------------------------------------------------------------------ synthetic LLM


def test_synthetic_token_prompts_have_exact_lengths_and_ids_in_range() -> None:
    ds = synthetic_llm(
        50,
        input_len=Uniform(8, 16),
        output_len=Normal(20, 4, 10, 30),
        seed=3,
        vocab_size=500,
        first_token_id=261,
    )
    assert len(ds) == 50
    lengths = [len(s.token_ids or ()) for s in ds]
    assert min(lengths) >= 8 and max(lengths) <= 16 and len(set(lengths)) > 3
    assert all(261 <= t < 500 for s in ds for t in s.token_ids or ())
    assert all(s.max_tokens is not None and 10 <= s.max_tokens <= 30 for s in ds)
    assert all(s.prompt is None and s.messages is None for s in ds)


def test_synthetic_is_reproducible_from_its_seed() -> None:
    a = synthetic_llm(10, input_len=Uniform(1, 50), output_len=Uniform(1, 50), seed=7)
    b = synthetic_llm(10, input_len=Uniform(1, 50), output_len=Uniform(1, 50), seed=7)
    c = synthetic_llm(10, input_len=Uniform(1, 50), output_len=Uniform(1, 50), seed=8)
    assert list(a) == list(b) and list(a) != list(c)
    # The prompts do not depend on the output distribution.
    d = synthetic_llm(10, input_len=Uniform(1, 50), output_len=3, seed=7)
    assert [s.token_ids for s in a] == [s.token_ids for s in d]


def test_synthetic_text_and_chat_prompts_without_a_tokenizer() -> None:
    prompts = synthetic_llm(3, input_len=12, output_len=4, form="prompt")
    assert all(s.prompt is not None and len(s.prompt.split()) == 12 for s in prompts)
    chats = synthetic_llm(3, input_len=5, output_len=4, form="messages")
    for s in chats:
        assert s.messages is not None and s.messages[0]["role"] == "user"
        assert len(s.messages[0]["content"].split()) == 5 and s.max_tokens == 4


class CharTokenizer:
    """One token per character, except that "ab" merges into one token: decoding random ids
    and encoding again changes the length, as with real BPE vocabularies."""

    alphabet = "abcdefgh"

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        ids, i = [], 0
        while i < len(text):
            if text.startswith("ab", i):
                ids.append(len(self.alphabet))
                i += 2
            else:
                ids.append(self.alphabet.index(text[i]))
                i += 1
        return ids

    def decode(self, token_ids: list[int], skip_special_tokens: bool = False) -> str:
        return "".join("ab" if t == len(self.alphabet) else self.alphabet[t] for t in token_ids)

    def __len__(self) -> int:
        return len(self.alphabet) + 1


def test_synthetic_text_with_a_tokenizer_has_the_exact_token_count() -> None:
    tok = CharTokenizer()
    ds = synthetic_llm(
        40, input_len=Uniform(5, 30), output_len=8, tokenizer=tok, form="prompt", seed=2
    )
    assert all(s.prompt is not None for s in ds)
    texts = [s.prompt or "" for s in ds]
    assert any("ab" in t for t in texts)  # the merge case was exercised
    rng = random.Random("2:in")
    expected = [Uniform(5, 30).draw(rng) for _ in range(40)]
    assert [len(tok.encode(t)) for t in texts] == expected


def test_synthetic_names_a_tokenizer_it_cannot_load() -> None:
    with pytest.raises(DatasetError, match="no-such-tokenizer"):
        synthetic_llm(1, tokenizer="/no-such-tokenizer", form="prompt")


def test_synthetic_rejects_bad_arguments() -> None:
    with pytest.raises(DatasetError, match="count"):
        synthetic_llm(0)
    with pytest.raises(DatasetError, match="first_token_id"):
        synthetic_llm(1, vocab_size=10, first_token_id=10)
    with pytest.raises(DatasetError, match="form"):
        synthetic_llm(1, form="image")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------- tensors


def test_npz_gives_one_sample_per_row_of_every_array(tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    ids = np.arange(4, dtype=np.int64)
    np.savez(path, INPUT0=x, IDS=ids)
    ds = load_tensors(path)
    assert len(ds) == 4
    tensors = ds[2].tensors
    assert tensors is not None and set(tensors) == {"INPUT0", "IDS"}
    np.testing.assert_array_equal(tensors["INPUT0"], [[6, 7, 8]])
    assert tensors["INPUT0"].dtype == np.float32 and tensors["IDS"].shape == (1,)
    unbatched = load_tensors(path, batch_dim=False)[2].tensors
    assert unbatched is not None and unbatched["INPUT0"].shape == (3,)


def test_npy_needs_an_input_name(tmp_path: Path) -> None:
    path = tmp_path / "t.npy"
    np.save(path, np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(DatasetError, match="give its input name"):
        load_tensors(path)
    ds = load_tensors(path, input_name="INPUT0", performance_sample_count=2)
    assert len(ds) == 3 and ds.performance_sample_count == 2
    assert ds[0].tensors is not None and ds[0].tensors["INPUT0"].shape == (1, 2)


def test_tensor_files_that_cannot_give_samples(tmp_path: Path) -> None:
    mismatched = tmp_path / "m.npz"
    np.savez(mismatched, A=np.zeros((3, 2)), B=np.zeros((4, 2)))
    with pytest.raises(DatasetError, match="disagree on the number of samples.*A=3, B=4"):
        load_tensors(mismatched)
    scalar = tmp_path / "s.npy"
    np.save(scalar, np.float32(1))
    with pytest.raises(DatasetError, match="no samples"):
        load_tensors(scalar, input_name="X")
    junk = tmp_path / "junk.npy"
    junk.write_text("not numpy")
    with pytest.raises(DatasetError, match="cannot read"):
        load_tensors(junk, input_name="X")
    pickled = tmp_path / "p.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DatasetError, match="cannot read"):
        load_tensors(pickled, input_name="X")  # never unpickles


TRITON_METADATA = {
    "name": "identity",
    "inputs": [
        {"name": "INPUT0", "datatype": "FP32", "shape": [-1, -1]},
        {"name": "TEXT", "datatype": "BYTES", "shape": [1]},
        {"name": "FLAGS", "datatype": "BOOL", "shape": [2, 3]},
        {"name": "N", "datatype": "INT32", "shape": [1]},
    ],
}


def test_random_tensors_follow_the_model_metadata() -> None:
    ds = random_tensors(TRITON_METADATA, 5, seed=1, dynamic_dim=7)
    assert len(ds) == 5
    t = ds[0].tensors
    assert t is not None
    assert t["INPUT0"].shape == (1, 7) and t["INPUT0"].dtype == np.float32
    assert t["TEXT"].shape == (1,) and isinstance(t["TEXT"][0], bytes) and len(t["TEXT"][0]) == 8
    assert t["FLAGS"].shape == (2, 3) and t["FLAGS"].dtype == np.bool_
    assert t["N"].dtype == np.int32 and 0 <= int(t["N"][0]) < 100
    again = random_tensors(TRITON_METADATA, 5, seed=1, dynamic_dim=7)
    np.testing.assert_array_equal(again[3].tensors["INPUT0"], ds[3].tensors["INPUT0"])  # type: ignore[index]
    assert not np.array_equal(ds[0].tensors["INPUT0"], ds[1].tensors["INPUT0"])  # type: ignore[index]


def test_random_tensors_reject_metadata_they_cannot_follow() -> None:
    with pytest.raises(DatasetError, match="lists no inputs"):
        random_tensors({"name": "m", "inputs": []}, 1)
    with pytest.raises(DatasetError, match="BF16"):
        random_tensors({"inputs": [{"name": "x", "datatype": "BF16", "shape": [1]}]}, 1)
    with pytest.raises(DatasetError, match="malformed input"):
        random_tensors({"inputs": [{"datatype": "FP32"}]}, 1)
