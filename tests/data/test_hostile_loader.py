"""DataLoader's batching refuses what is not numbers, wherever it is in the batch: NumPy would
quietly turn the text "2.5" into 2.5 and None into NaN."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_edu.data import DataLoader, Dataset
from tinygrad_edu.data.loader import collate


@pytest.mark.parametrize("examples, named", [
    ([1.0, "2.5"], "str"), (["2.5", 1.0], "str"), ([1.0, 2.0, None], "NoneType"), ([1, None], "NoneType"),
    ([1.0, "nan"], "str"), ([True, b"1"], "bytes"), ([np.float32(1), np.str_("2")], "str_ of <U1"),
    ([np.zeros(2), np.array(["1", "2"])], "ndarray of <U1"), ([np.zeros(2), np.array([None, 1.0])], "ndarray of object"),
    ([(np.zeros(2), 1), (np.ones(2), "3")], "str"),  # inside a tuple's second field
])
def test_anything_but_numbers_in_a_batch_is_refused(examples, named):
    with pytest.raises(TypeError, match=f"cannot batch examples of type {named}: a dataset item must be an array"):
        collate(examples)


def test_numbers_mixed_as_pytorch_mixes_them_still_batch():
    assert collate([1, 2.5]).tolist() == [1.0, 2.5] and collate([1, 2.5]).dtype == np.float32
    assert collate([np.int8(1), np.int8(2)]).dtype == np.int8
    assert collate([(np.zeros(2), 1), (np.ones(2), 0)])[1].tolist() == [1, 0]


def test_a_dataset_whose_later_item_is_text_stops_the_loader():
    class Labels(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full(3, float(i)), (i if i != 3 else "3")

    loader = iter(DataLoader(Labels(), batch_size=2))
    x, y = next(loader)
    assert y.numpy().tolist() == [0, 1]
    with pytest.raises(TypeError, match="cannot batch examples of type str"):
        next(loader)
