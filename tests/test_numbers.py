"""The trained number translator: held-out accuracy in both backends, NumPy == PyTorch, cached ==
uncached decoding, the command line, bad input, the checkpoint's format and size."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from qkv.numbers import (
    attention,
    chinese,
    english,
    held_out_numbers,
    load_model,
    parse_en,
    sample_numbers,
    tokenize_en,
    translate,
)
from qkv.numbers import data as numbers_data
from qkv.numbers.model import CHECKPOINT, translate_ids
from qkv.numbers.teacher_forcing import RESULTS
from qkv.numbers.train import CURVES

pytest.importorskip("num2words")
pytest.importorskip("cn2an")


@pytest.fixture
def torch_one_thread():
    """PyTorch with one thread during the test (a shared machine makes its thread pool spin)."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield torch
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def held_out():
    numbers = held_out_numbers()
    texts = [english(n) for n in numbers]
    return numbers, texts, [chinese(n) for n in numbers]


def test_data_examples():
    assert english(120345) == "one hundred and twenty thousand three hundred and forty-five"
    assert chinese(120345) == "十二万零三百四十五"
    assert tokenize_en(" Forty-Five,  thousand ") == ["forty", "five", "thousand"]
    assert parse_en(english(120345)) == 120345


def test_sample_numbers_is_seeded_and_even_over_magnitudes():
    numbers = sample_numbers(6000, seed=5)
    np.testing.assert_array_equal(numbers, sample_numbers(6000, seed=5))
    assert numbers.min() >= 0 and numbers.max() <= 999_999
    digits = np.array([len(str(n)) for n in numbers])
    counts = np.bincount(digits, minlength=7)[1:]
    assert counts.min() > 900 and counts.max() < 1100, counts  # about 1,000 each


def test_held_out_set_is_never_trained_on():
    held = held_out_numbers()
    assert len(held) == len(set(held.tolist())) == 2000
    digits = np.bincount([len(str(n)) for n in held], minlength=7)
    assert digits.tolist() == [0, 0, 0, 500, 500, 500, 500]
    pool = sample_numbers(20_000, 0, exclude=held)
    assert not set(pool.tolist()) & set(held.tolist())


def test_held_out_exact_match_numpy(held_out):
    numbers, texts, gold = held_out
    got = translate(texts)
    accuracy = np.mean([g == w for g, w in zip(got, gold, strict=True)])
    print(f"\nNumPy exact match on {len(texts)} held-out numbers: {accuracy:.4f}")
    assert accuracy >= 0.995


def _numpy_equals_torch(texts, gold):
    tokens_np = translate_ids(texts, load_model("numpy"))
    tokens_t = translate_ids(texts, load_model("torch"))
    np.testing.assert_array_equal(tokens_np, tokens_t)  # identical greedy outputs
    got = translate(texts, backend="torch")
    return np.mean([g == w for g, w in zip(got, gold, strict=True)])


def test_held_out_subset_numpy_equals_torch(held_out, torch_one_thread):
    _, texts, gold = held_out
    accuracy = _numpy_equals_torch(texts[::4], gold[::4])  # 500 of the 2,000, every magnitude
    assert accuracy >= 0.995


@pytest.mark.slow
def test_held_out_numpy_equals_torch(held_out, torch_one_thread):
    _, texts, gold = held_out
    accuracy = _numpy_equals_torch(texts, gold)
    print(f"\nPyTorch exact match on {len(texts)} held-out numbers: {accuracy:.4f}")
    assert accuracy >= 0.995


def test_trained_logits_numpy_equal_torch(held_out, torch_one_thread):
    torch = torch_one_thread
    import qkv.numpy as qn
    import qkv.torch as qt

    _, texts, gold = held_out
    src, lengths = numbers_data.encode_source(texts[::10])
    tgt = numbers_data.encode_target(gold[::10])[:, :-1]
    m_np, m_t = load_model("numpy"), load_model("torch")
    expected = qn.seq2seq_logits(src, tgt, m_np.params, num_heads=4, src_lengths=lengths)
    got = qt.seq2seq_logits(
        torch.from_numpy(src),
        torch.from_numpy(tgt),
        m_t.params,
        num_heads=4,
        src_lengths=torch.from_numpy(lengths),
    )
    assert expected.dtype == np.float32
    torch.testing.assert_close(got, torch.from_numpy(expected))  # float32 tolerances


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_trained_cached_equals_uncached(held_out, backend, request):
    if backend == "torch":
        torch = request.getfixturevalue("torch_one_thread")
        import qkv.torch as module

        to, back = torch.from_numpy, (lambda t: t.numpy())
    else:
        import qkv.numpy as module

        to, back = (lambda a: a), (lambda a: a)
    _, texts, _ = held_out
    model = load_model(backend)
    src, lengths = numbers_data.encode_source(texts[::40])
    kwargs = dict(num_heads=4, bos=1, eos=2, max_len=12, src_lengths=to(lengths))
    tokens, logits = module.greedy_decode(to(src), model.params, **kwargs, use_cache=True)
    tokens_ref, logits_ref = module.greedy_decode(to(src), model.params, **kwargs, use_cache=False)
    np.testing.assert_array_equal(back(tokens), back(tokens_ref))
    np.testing.assert_allclose(back(logits), back(logits_ref), rtol=1e-4, atol=1e-4)


def test_translate_shapes_and_tolerant_input():
    assert translate("one hundred and five") == "一百零五"
    assert translate(["  One Hundred,  and FIVE ", "forty five"]) == ["一百零五", "四十五"]
    assert translate(["forty-five"]) == ["四十五"]
    assert translate([]) == []
    assert translate("zero") == "零"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "one hundred and fife",
            "unknown word 'fife' in 'one hundred and fife'; accepted: English",
        ),
        ("", "empty input: no number words in ''; accepted: English number words"),
        ("one million", "unknown word 'million'"),
        ("one thousand thousand", "word 'thousand' out of place in 'one thousand thousand'"),
        ("five hundred and", "word 'and' out of place"),
    ],
)
def test_bad_input_names_the_word(text, message):
    with pytest.raises(ValueError, match="from 0 to 999,999") as info:
        translate(text)
    assert message in str(info.value)


def test_bad_backend_and_type():
    with pytest.raises(ValueError, match="translate: backend must be one of"):
        translate("one", backend="jax")
    with pytest.raises(TypeError, match="translate: text must be a string or a list of strings"):
        translate([1])


def test_attention_shapes_and_rows():
    weights = attention("one hundred and twenty thousand three hundred and forty-five")
    assert weights.target == list("十二万零三百四十五")
    seq_src, seq_tgt = len(weights.source), len(weights.target) + 1
    assert weights.encoder.shape == (2, 4, seq_src, seq_src)
    assert weights.decoder.shape == (2, 4, seq_tgt, seq_tgt)
    assert weights.cross.shape == (2, 4, seq_tgt, seq_src)
    for w in (weights.encoder, weights.decoder, weights.cross):
        np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "qkv.numbers", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_prints_one_line_per_argument():
    result = _run("one hundred and five", "nine hundred and ninety-nine thousand")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "一百零五\n九十九万九千\n"


def test_cli_torch_backend_and_attention_table():
    pytest.importorskip("torch")
    result = _run("--backend", "torch", "--show-attention", "one hundred and five")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "一百零五"
    assert lines[1].split() == ["一", "百", "零", "五"]
    assert [line.split()[0] for line in lines[2:]] == ["one", "hundred", "and", "five"]
    columns = np.array([[int(x) for x in line.split()[1:]] for line in lines[2:]])
    assert columns.shape == (4, 4) and (abs(columns.sum(axis=0) - 100) <= 2).all()


def test_cli_bad_input():
    result = _run("one hundred and fife")
    assert result.returncode == 2 and result.stdout == ""
    assert "unknown word 'fife'" in result.stderr


def test_imports_and_translates_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from qkv.numbers import translate\n"
        "print(translate('seven thousand and seven'))\n"
        "assert 'torch' not in [m.split('.')[0] for m in sys.modules if sys.modules[m]]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "七千零七\n"


def test_checkpoint_is_small_float32_and_pickle_free():
    assert CHECKPOINT.stat().st_size <= 1_000_000
    with np.load(CHECKPOINT, allow_pickle=False) as data:  # raises on any object array
        arrays = {k: data[k] for k in data.files}
    weights = [v for k, v in arrays.items() if not k.startswith(("config.", "vocab."))]
    assert weights and all(w.dtype == np.float32 for w in weights)
    assert all(v.dtype != object for v in arrays.values())
    assert sum(w.size for w in weights) == json.loads(CURVES.read_text())["parameters"]
    with zipfile.ZipFile(CHECKPOINT) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_training_curves():
    curves = json.loads(CURVES.read_text(encoding="utf-8"))
    assert len(curves["step"]) == len(curves["loss"]) == len(curves["token_accuracy"])
    assert curves["loss"][-1] < curves["loss"][0] / 10
    assert curves["exact_match"][-1] >= 0.99
    assert len(curves["eval_step"]) == len(curves["eval_seconds"]) == len(curves["exact_match"])


@pytest.mark.slow
def test_short_retraining_lowers_the_loss():
    pytest.importorskip("torch")
    from qkv.numbers.train import train

    config = {"d_model": 32, "num_heads": 2, "num_layers": 1, "d_ff": 64}
    _, curves = train(
        steps=60, batch_size=32, warmup=10, pool_size=500, eval_every=60, eval_count=20,
        threads=1, config=config, log=lambda *_: None,
    )  # fmt: skip
    assert curves["loss"][-1] < 0.7 * curves["loss"][0]


def test_teacher_forcing_experiment_file():
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    runs = {(run["steps"], run["method"]) for run in results["runs"]}
    methods = ("teacher_forcing", "scheduled_sampling")
    assert runs == {(steps, method) for steps in results["steps"] for method in methods}
    for run in results["runs"]:
        assert run["numbers"] == 2000
        assert sum(run["first_error_histogram"]) == run["free_running_errors"]
        assert run["free_running_errors"] == round(2000 * (1 - run["free_running_exact_match"]))
        # greedy: all gold-prefix predictions right <=> free running reproduces the gold
        assert run["teacher_forced_sequence_accuracy"] == run["free_running_exact_match"]
