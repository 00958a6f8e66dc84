"""Model classes mirror the core's models; tokens redact; user data helpers."""

from __future__ import annotations

import gzip
import json
from typing import Any, Set

import pytest

import vpc_imds
from vpc_imds import _core
from vpc_imds._models import REGISTRY, Model

from conftest import VECTORS

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def _machine() -> _core.Machine:
    return vpc_imds.Client("http://127.0.0.1:1", use_env=False)._m


def _answer(m: _core.Machine, op: int, step: Any, body: bytes) -> Any:
    assert step[0] == 0, step  # a request to send: answered as a custom transport would
    return m.respond(op, 200, body)


def _drive(op: str, body: bytes, **kw: Any) -> Any:
    m = _machine()
    id = m.start(op, **kw)
    step = _answer(m, id, m.step(id), json.dumps({"access_token": TOKEN, "expires_in": 300}).encode())
    done = _answer(m, id, step, body)
    assert done[0] == 6, done
    return done[1]


def _walk(obj: Any, seen: Set[str]) -> None:
    if isinstance(obj, list):
        for item in obj:
            _walk(item, seen)
    elif isinstance(obj, Model):
        cls = type(obj)
        seen.add(cls.__name__)
        assert list(obj.__dict__) == list(cls._fields), f"{cls.__name__}: fields differ from the core's"
        for value in obj.__dict__.values():
            _walk(value, seen)
    else:
        assert not isinstance(obj, dict), f"a struct came out as a dict: {obj}"


def test_every_fixture_converts_to_registered_classes() -> None:
    seen: Set[str] = set()
    cases = [
        ("instance", "instance.json", {}),
        ("initialization", "initialization.json", {}),
        ("network_interfaces", "network_interfaces.json", {}),
        ("network_interface", "network_interface.json", {"id": "x"}),
        ("volume_attachments", "volume_attachments.json", {}),
        ("volume_attachment", "volume_attachment.json", {"id": "x"}),
        ("keys", "keys.json", {}),
        ("key", "key.json", {"id": "x"}),
        ("placement_group", "placement_group.json", {"id": "x"}),
        ("identity_certificate", "certificate.json", {"csr": "-----BEGIN CERTIFICATE REQUEST-----\nx\n-----END CERTIFICATE REQUEST-----\n"}),
    ]
    for op, fixture, kw in cases:
        out = _drive(op, (VECTORS / "fixtures" / fixture).read_bytes(), **kw)
        _walk(out, seen)
        doc = out.to_dict()
        assert json.loads(json.dumps(doc)) == doc
    assert {"Instance", "Vcpu", "Reference", "NetworkInterface", "Key", "KeyCollection"} <= seen


def test_registry_names_every_class() -> None:
    assert set(REGISTRY) >= {"AccessToken", "Instance", "Key", "PlacementGroupCollection", "IdentityCertificate"}
    for name, cls in REGISTRY.items():
        assert issubclass(cls, Model) and cls.__doc__, name


def test_keyword_fields_round_trip() -> None:
    inst = _drive("instance", b'{"id":"i","availability":{"class":"spot"}}')
    assert inst.availability is not None and inst.availability.class_ == "spot"
    assert inst.to_dict()["availability"] == {"class": "spot"}


def test_models_are_constructible_and_compare_by_value() -> None:
    k = vpc_imds.Key(id="k", public_key="ssh-ed25519 AAAA")
    assert k == vpc_imds.Key(id="k", public_key="ssh-ed25519 AAAA")
    assert k.name is None and "k" in repr(k)
    assert vpc_imds.Instance(id="i").volume_attachments == []
    try:
        vpc_imds.Key(nope=1)
    except TypeError:
        pass
    else:
        raise AssertionError("unknown field accepted")


def test_token_repr_redacts() -> None:
    m = _machine()
    id = m.start("identity_token")
    token = _answer(m, id, m.step(id), json.dumps({"access_token": TOKEN, "expires_in": 60, "created_at": "x"}).encode())[1]
    assert isinstance(token, vpc_imds.Token) and token.access_token == TOKEN and token.lifetime == 60
    for text in (repr(token), str(token), repr([token])):
        assert TOKEN not in text and "eyJ" not in text and "redacted" in text


def test_lifetime_from_timestamps() -> None:
    body = {"access_token": TOKEN, "created_at": "2025-09-01T12:00:00Z", "expires_at": "2025-09-01T13:00:00.000Z"}
    token = _drive("iam_token", json.dumps(body).encode())
    assert token.expires_in is None and token.lifetime == 3600


def _user_data(text: Any) -> vpc_imds.UserData:
    """User data as the clients build it: the bytes the machine decodes from the JSON string."""
    init = json.dumps({"keys": [], "user_data": text}).encode()
    assert _drive("initialization", init).user_data == text
    return vpc_imds.UserData(_drive("user_data", init))


def test_user_data_helpers() -> None:
    plain = _user_data("#cloud-config\nruncmd: [ls]\n")
    assert plain == b"#cloud-config\nruncmd: [ls]\n" and not plain.is_gzip and not plain.is_multipart
    assert plain.parts()[0].payload == bytes(plain) and "bytes" in repr(plain)
    assert _user_data("Grüße 😀") == "Grüße 😀".encode()
    assert _user_data("\x1f\x8bnot latin-1 😀") == "\x1f\x8bnot latin-1 😀".encode()
    packed = gzip.compress(b"#!/bin/sh\necho hi\n")
    as_json_text = packed.decode("latin-1")  # how binary arrives in a JSON string
    data = _user_data(as_json_text)
    assert data == packed and data.is_gzip and data.decompress() == b"#!/bin/sh\necho hi\n"
    assert data.text() == "#!/bin/sh\necho hi\n"
    assert _user_data(None) == b"" and _user_data("") == b""
    assert _drive("initialization", b'{"keys": []}').to_dict()["user_data"] is None
    mime = (
        'Content-Type: multipart/mixed; boundary="b"\nMIME-Version: 1.0\n\n--b\n'
        'Content-Type: text/x-shellscript\nContent-Transfer-Encoding: base64\n\nZWNobyBoaQo=\n'
        "--b\nContent-Type: text/cloud-config\n\n#cloud-config\n--b--\n"
    )
    parts = _user_data(mime).parts()
    assert [p.content_type for p in parts] == ["text/x-shellscript", "text/cloud-config"]
    assert parts[0].payload == b"echo hi\n" and parts[1].text().startswith("#cloud-config")
    limit = 16 * 1024 * 1024  # the driver's limit, the same in every host
    assert len(vpc_imds.UserData(gzip.compress(b"\0" * limit)).decompress()) == limit
    bomb = vpc_imds.UserData(gzip.compress(b"\0" * (limit + 1)))
    # The driver's record, as every host reports it: bad_response with its words.
    with pytest.raises(vpc_imds.BadResponse) as e:
        bomb.decompress()
    assert e.value.kind == "bad_response" and str(e.value) == f"decompressed user data exceeds {limit} bytes"
    with pytest.raises(vpc_imds.BadResponse, match="not valid gzip"):
        vpc_imds.UserData(b"\x1f\x8b\x00\x01\x02").decompress()


def test_exceptions_hierarchy() -> None:
    assert issubclass(vpc_imds.ImdsTimeout, TimeoutError)
    assert issubclass(vpc_imds.ConnectionRefused, ConnectionRefusedError)
    assert issubclass(vpc_imds.InvalidArgument, ValueError)
    for kind in _core.ERROR_KINDS:
        cls = vpc_imds._errors.BY_KIND[kind]
        assert issubclass(cls, vpc_imds.ImdsError) and cls.kind == kind
    import pickle

    e = vpc_imds.NotFound("gone")
    e.status = 404
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is vpc_imds.NotFound and again.status == 404 and str(again) == "gone"
