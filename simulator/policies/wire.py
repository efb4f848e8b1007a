"""The remote-policy wire format: msgpack messages with numpy arrays (docs/policies.md).

Every message is one msgpack map with a ``type``. An array (observations, images,
actions) is the map ``{"__ndarray__": true, "dtype": "<f4", "shape": [...], "data":
<bytes, C order>}`` with the dtype as a numpy type string including byte order, so that
any language with a msgpack library can read and write it. numpy scalars become plain
numbers, tuples become arrays, and anything else that msgpack cannot carry is sent as
its ``str``. Needs the optional extra ``remote`` (msgpack, websockets).
"""
from __future__ import annotations

import numpy as np

PROTOCOL = 2                 # wire protocol version, exchanged in the handshake
OLD_PROTOCOLS = (1,)         # versions this cobotsim recognises and refuses by name
MAX_MESSAGE = 16 * 2 ** 20   # bytes: default limit of one message (camera images fit)


def _msgpack():
    try:
        import msgpack
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("remote policies need the optional extra: pip install "
                          "'cobotsim[remote]'") from exc
    return msgpack


def _plain(value):
    if isinstance(value, np.ndarray):
        a = value if value.flags.c_contiguous else value.copy(order="C")  # 0-d stays 0-d
        return {"__ndarray__": True, "dtype": a.dtype.str, "shape": list(a.shape),
                "data": a.tobytes()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return value
    return str(value)


def _hook(obj: dict):
    if obj.get("__ndarray__") is True:
        dtype = np.dtype(obj["dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not accepted")
        return np.frombuffer(obj["data"], dtype=dtype).reshape(obj["shape"]).copy()
    return obj


def encode(message: dict) -> bytes:
    """One message as msgpack bytes."""
    return _msgpack().packb(_plain(message), use_bin_type=True)


def decode(data: bytes, max_size: int = MAX_MESSAGE) -> dict:
    """One message from msgpack bytes; raises ValueError if it is not a map with a type."""
    if len(data) > max_size:
        raise ValueError(f"message of {len(data)} bytes exceeds the limit of {max_size}")
    try:
        message = _msgpack().unpackb(data, raw=False, object_hook=_hook,
                                     max_bin_len=max_size, max_str_len=max_size)
    except Exception as exc:
        raise ValueError(f"not a valid msgpack message: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError(f"a message must be a map with a 'type', got {type(message).__name__}")
    return message
