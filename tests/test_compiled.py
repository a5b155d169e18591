"""The helpers of the model's compiled loops (docs/architecture.md, "Four loops compiled with Numba")."""

from __future__ import annotations

import numpy as np

from flopgrid.model import compiled, contiguous, sum_over


def test_a_function_whose_cache_has_no_place_is_still_compiled() -> None:
    # A function with no source file (as from an installation the user cannot write to) has nowhere to
    # cache its machine code: it is compiled anyway, once per process.
    namespace: dict[str, object] = {}
    exec("def fill(x):\n    for i in range(x.shape[0]):\n        x[i] = 2.0 * i\n", namespace)
    kernel = compiled(namespace["fill"])()  # type: ignore[arg-type]
    x = np.zeros(3)
    kernel(x)
    assert x.tolist() == [0.0, 2.0, 4.0]
    assert len(kernel.signatures) == 1  # type: ignore[attr-defined]  # compiled, not run as Python


def test_contiguous_copies_only_what_is_not_laid_out_for_the_loops() -> None:
    laid_out = np.arange(6.0).reshape(2, 3)
    assert contiguous(laid_out, (2, 3)) is laid_out
    broadcast = contiguous(np.arange(3.0), (2, 3))
    assert broadcast.flags.c_contiguous and broadcast.flags.writeable
    assert broadcast.tolist() == [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]]
    transposed = contiguous(laid_out.T, (3, 2))
    assert transposed.flags.c_contiguous and transposed.tolist() == laid_out.T.tolist()


def test_sum_over_any_axes_equals_numpys_sum_laid_out_in_c_order() -> None:
    values = np.random.default_rng(3).uniform(size=(4, 5, 3, 2))
    for axis in (0, 2, -1, (1, 3), (0, 2, 3)):
        got = sum_over(np.moveaxis(values, -1, 0), axis)
        np.testing.assert_allclose(got, np.moveaxis(values, -1, 0).sum(axis=axis), rtol=1e-13)
        assert got.flags.c_contiguous
