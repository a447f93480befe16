"""Makes the HDF5 files HDF5Tests reads, with h5py (an HDF5 writer that is
not SwiftCaffe's). Run from this folder with the reference venv:
    ../../../../.build/reference/venv/bin/python make_hdf5_fixtures.py
(`make opencv-fixtures` runs it with the others.)

Values are chosen so a test can compute them by hand:
  train_a.h5: data[i, c, x] = 100*i + 10*c + x (float32, 5 x 2 x 3),
              label[i] = i (float64: HDF5 converts it to float on reading),
              id[i] = 1000 + i (int32).
  train_b.h5: the same formulas for rows 5..7 (3 rows).
  wide.h5:    data rows of 3 x 3 (a file that does not match the others).
  text.h5:    data holds strings; label has 2 rows.
  uneven.h5:  data has 4 rows, label 3.
"""
import h5py
import numpy as np


def rows(first, count, channels=2, width=3):
    i = np.arange(first, first + count).reshape(-1, 1, 1)
    c = np.arange(channels).reshape(1, -1, 1)
    x = np.arange(width).reshape(1, 1, -1)
    return (100 * i + 10 * c + x).astype(np.float32)


def write(name, first, count, **extra):
    with h5py.File(name, "w") as f:
        f["data"] = rows(first, count)
        f["label"] = np.arange(first, first + count, dtype=np.float64)
        f["id"] = np.arange(1000 + first, 1000 + first + count, dtype=np.int32)


write("train_a.h5", 0, 5)
write("train_b.h5", 5, 3)
with h5py.File("wide.h5", "w") as f:
    f["data"] = rows(0, 2, channels=3)
    f["label"] = np.zeros(2)
with h5py.File("text.h5", "w") as f:
    f["data"] = np.array([b"a", b"b"])
    f["label"] = np.zeros(2)
with h5py.File("uneven.h5", "w") as f:
    f["data"] = rows(0, 4)
    f["label"] = np.zeros(3)
