"""Makes the .npy fixtures of NPYTests with numpy itself (the reference for the
format): every version and dtype SwiftCaffe reads, and the cases it refuses.
Run from this folder: python3 make_npy_fixtures.py"""
import numpy as np

a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5 - 3
np.save("npy/f4.npy", a)
np.save("npy/f8.npy", a.astype(np.float64))
np.save("npy/fortran.npy", np.asfortranarray(a))
np.save("npy/i4.npy", a.astype(np.int32))
np.save("npy/obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
np.save("npy/scalar.npy", np.float32(3.5))
with open("npy/v2.npy", "wb") as f:
    np.lib.format.write_array(f, a, version=(2, 0))
with open("npy/v3.npy", "wb") as f:
    np.lib.format.write_array(f, a, version=(3, 0))
with open("npy/f4.npy", "rb") as f:
    whole = f.read()
with open("npy/trunc.npy", "wb") as f:
    f.write(whole[:-5])
