import pytest

from local.stripe_emulator.forms import FormError, decode, parse_query


def test_nested_hashes_and_indexed_arrays():
    params = parse_query(
        "email=a%40b.co&metadata[plan]=pro&items[0][price]=p1&items[1][price]=p2"
        "&items[1][quantity]=3&expand[0]=customer"
    )
    assert params == {
        "email": "a@b.co",
        "metadata": {"plan": "pro"},
        "items": [{"price": "p1"}, {"price": "p2", "quantity": "3"}],
        "expand": ["customer"],
    }


def test_blank_values_are_kept_because_they_mean_unset():
    assert parse_query("metadata[plan]=&description=") == {
        "metadata": {"plan": ""},
        "description": "",
    }


def test_empty_brackets_append_and_sparse_indices_stay_a_hash():
    assert decode([("expand[]", "a"), ("expand[]", "b")]) == {"expand": ["a", "b"]}
    assert decode([("metadata[1]", "x")]) == {"metadata": {"1": "x"}}


@pytest.mark.parametrize(
    "pairs",
    [
        [("metadata", "x"), ("metadata[k]", "v")],
        [("metadata[k]", "v"), ("metadata", "x")],
        [("metadata[k", "v")],
    ],
)
def test_conflicting_or_malformed_keys_are_rejected(pairs):
    with pytest.raises(FormError):
        decode(pairs)
