"""The student stubs stay in step with the reference: names, signatures, docstrings."""

import inspect
import re

import pytest

import assignments
import keras_vae
from keras_vae.impl import CONTRACT

SECTION = re.compile(r"^(Args|Returns|Raises|Call arguments|Example):$")


def sections(obj):
    """Splits a Google-style docstring into its summary, Args entries and Returns text."""
    lines = inspect.getdoc(obj).splitlines()
    parsed, current, args, name = {"summary": lines[0]}, None, {}, None
    for line in lines[1:]:
        if SECTION.match(line):
            current = line[:-1]
            continue
        if current == "Args" or current == "Call arguments":
            entry = re.match(r"    (\w+): ", line)
            if entry:
                name = entry.group(1)
                args[name] = line.strip()
            elif name and line.strip():
                args[name] += " " + line.strip()
        elif current == "Returns" and line.strip():
            parsed["Returns"] = parsed.get("Returns", "") + " " + line.strip()
    parsed["args"] = args
    return parsed


@pytest.mark.parametrize("name", CONTRACT)
def test_stub_signature_matches_the_reference(name):
    """Each stub takes the reference's parameters, in order, with the same defaults."""
    stub, reference = getattr(assignments, name), getattr(keras_vae, name)
    stub_params = list(inspect.signature(stub).parameters.values())
    ref_params = list(inspect.signature(reference).parameters.values())
    assert [(p.name, p.default) for p in stub_params] == [
        (p.name, p.default) for p in ref_params[:len(stub_params)]]
    assert all(p.default is not inspect.Parameter.empty or p.kind == p.VAR_KEYWORD
               for p in ref_params[len(stub_params):]), "reference extras must be optional"


@pytest.mark.parametrize("name", CONTRACT)
def test_stub_docstring_matches_the_reference(name):
    """Each stub's summary, documented arguments and return value read as the reference's."""
    stub, reference = sections(getattr(assignments, name)), sections(getattr(keras_vae, name))
    assert stub["summary"] == reference["summary"]
    assert stub.get("Returns") == reference.get("Returns")
    for arg, text in stub["args"].items():
        assert text == reference["args"].get(arg), f"{name}: argument {arg} differs"


@pytest.mark.parametrize("name", [n for n in CONTRACT if not inspect.isclass(getattr(assignments, n))])
def test_stub_functions_raise_not_implemented(name):
    """Calling an unfinished stub raises NotImplementedError."""
    function = getattr(assignments, name)
    arguments = [None] * len([p for p in inspect.signature(function).parameters.values()
                              if p.default is inspect.Parameter.empty])
    with pytest.raises(NotImplementedError):
        function(*arguments)
