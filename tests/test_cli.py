"""The one-line errors of bad input: `checks.invalid`'s one form, the flag named as typed, and
argparse's own errors rewritten into it. The commands' whole output is tested with each command
(`tests/test_train.py`, `test_evaluate.py`, `test_sample.py`, `test_grade.py`)."""

import pytest

from keras_vae import checks, cli


def parser():
    result = cli.ArgumentParser(prog="python -m tool")
    result.add_argument("--num-rows", type=int, default=3, dest="num_rows")
    result.add_argument("--sigma", type=float, default=1.0)
    result.add_argument("--likelihood", choices=["bernoulli", "gaussian"], default="bernoulli")
    result.add_argument("-e", "--epochs", type=int, dest="num_epochs", default=1)
    return result


def error_of(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(argv)
    captured = capsys.readouterr()
    assert exited.value.code == 2 and captured.out == ""
    return captured.err


@pytest.mark.parametrize("argv, expected", [
    (["--num-rows", "x"], "error: Invalid value for `--num-rows`: expected an integer, "
                          "received 'x'.\n"),
    (["--sigma", "big"], "error: Invalid value for `--sigma`: expected a number, "
                         "received 'big'.\n"),
    (["-e", "1.5"], "error: Invalid value for `-e`: expected an integer, received '1.5'.\n"),
    (["--likelihood", "poisson"], "error: Invalid value for `--likelihood`: expected one of "
                                  "'bernoulli', 'gaussian', received 'poisson'.\n"),
    (["--bogus"], "error: unrecognized arguments: --bogus (see python -m tool --help).\n"),
    (["--num", "3"], "error: unrecognized arguments: --num 3 (see python -m tool --help).\n"),
    (["--sigma"], "error: argument --sigma: expected one argument (see python -m tool "
                  "--help).\n"),
])
def test_argparse_errors_are_one_line_in_the_commands_form(argv, expected, capsys):
    assert error_of(argv, capsys) == expected


def test_a_field_is_named_by_the_flag_a_user_types():
    names = cli.flag_names(parser())
    assert names["num_epochs"] == "-e" and names["num_rows"] == "--num-rows"
    error = checks.invalid("num_epochs", "a positive integer", 0)
    assert cli.one_line(error, {"num_epochs": "--epochs"}) == (
        "error: Invalid value for `--epochs`: expected a positive integer, received 0.")
    # A name no flag stands for, or no map, is left as it is.
    assert cli.one_line(error, {"latent_dim": "--latent-dim"}) == f"error: {error}"
    assert cli.one_line(error) == f"error: {error}"


def test_one_line_joins_a_message_that_spans_lines():
    error = ValueError("Invalid value for `x`:\n  expected one\n\tthing, received 2.")
    assert cli.one_line(error) == "error: Invalid value for `x`: expected one thing, received 2."


def test_usage_error_prints_the_line_on_stderr_and_returns_2(capsys):
    assert cli.usage_error(checks.invalid("sigma", "a positive finite number", -1.0),
                           {"sigma": "--sigma"}) == 2
    assert capsys.readouterr() == (
        "", "error: Invalid value for `--sigma`: expected a positive finite number, "
            "received -1.0.\n")


def test_bad_input_turns_a_check_into_a_usage_error_and_nothing_else():
    with pytest.raises(cli.UsageError, match="^Invalid value for `beta`"):
        with cli.bad_input():
            checks.non_negative_float("beta", -1)
    with pytest.raises(KeyError):
        with cli.bad_input():
            raise KeyError("not bad input")


def test_invalid_says_what_was_expected_and_received_and_why():
    assert str(checks.invalid("impl", "an importable module", "x", "which was not found")) == (
        "Invalid value for `impl`: expected an importable module, received 'x', which was not "
        "found.")
    assert str(checks.invalid("--out", "a folder", checks.NOTHING)) == (
        "Invalid value for `--out`: expected a folder, received nothing.")


@pytest.mark.parametrize("text", ["0", "-1", "nan", "inf", "-inf", "x", ""])
def test_positive_number_text_refuses_what_is_not_a_positive_finite_number(text):
    with pytest.raises(ValueError) as raised:
        checks.positive_number_text("--timeout", text)
    assert str(raised.value) == (f"Invalid value for `--timeout`: expected a positive number, "
                                 f"received {text!r}.")


def test_typed_numbers_read_as_numbers():
    assert checks.positive_number_text("--timeout", "2.5") == 2.5
    assert checks.integer_text("--seed", "0") == 0
    assert checks.integer_text("--workers", "3", minimum=1) == 3
    for text, minimum, expected in (("0", 1, "a positive integer"),
                                    ("-2", 0, "a non-negative integer"),
                                    ("1e3", 0, "a non-negative integer"),
                                    ("\u0663", 0, "a non-negative integer")):
        with pytest.raises(ValueError, match=f"expected {expected}, received {text!r}"):
            checks.integer_text("--seed", text, minimum)


def test_every_activation_keras_takes_by_name_is_known_before_keras_loads():
    """`checks.ACTIVATIONS` holds every name `keras.activations.get` takes, so no activation
    Keras knows is refused; a misspelt one is refused naming the argument."""
    from keras.src.activations import ALL_OBJECTS_DICT

    missing = sorted(set(ALL_OBJECTS_DICT) - set(checks.ACTIVATIONS))
    assert not missing, f"expected every Keras activation in checks.ACTIVATIONS, missing {missing}"
    assert checks.activation("activation", "tanh") == "tanh"
    with pytest.raises(ValueError) as raised:
        checks.activation("activation", "relux")
    assert str(raised.value) == ("Invalid value for `activation`: expected the name of a Keras "
                                 "activation, such as 'relu', received 'relux'.")
