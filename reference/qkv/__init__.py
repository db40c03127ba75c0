"""qkv: self-attention explained, with two reference backends.

Import a backend explicitly: `qkv.numpy` (NumPy, written for clarity) or `qkv.torch`
(PyTorch, same names and signatures, CPU and CUDA).
"""

__version__ = "0.1.0"
