#!/usr/bin/env python3
# did_sign.py: a DID client for the tests (seed 003's scheme): Ed25519 keys as did:key, and
# the signature of a request: base64url (unpadded; --pad adds '=') of the Ed25519 signature
# of "TIMESTAMP\nMETHOD\nPATH_WITH_QUERY\nHEX_SHA256_OF_BODY".
#
#   did_sign.py new KEYFILE                  a new key (32-byte seed, hex) in KEYFILE; prints its DID
#   did_sign.py did KEYFILE                  prints the DID of the key in KEYFILE
#   did_sign.py sign KEYFILE TS METHOD URI [BODYFILE] [--pad]
#                                            prints the signature (BODYFILE absent: empty body)
import base64
import hashlib
import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58encode(b):
    n = int.from_bytes(b, "big")
    s = ""
    while n:
        n, r = divmod(n, 58)
        s = B58[r] + s
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + s


def load(path):
    with open(path) as f:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(f.read().strip()))


def did_of(key):
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "did:key:z" + b58encode(b"\xed\x01" + raw)


def main(argv):
    if len(argv) >= 2 and argv[0] == "new":
        with open(argv[1], "w") as f:
            f.write(os.urandom(32).hex())
        print(did_of(load(argv[1])))
    elif len(argv) >= 2 and argv[0] == "did":
        print(did_of(load(argv[1])))
    elif len(argv) >= 5 and argv[0] == "sign":
        pad = "--pad" in argv
        args = [a for a in argv if a != "--pad"]
        body = b""
        if len(args) >= 6 and args[5] != "":
            with open(args[5], "rb") as f:
                body = f.read()
        text = "%s\n%s\n%s\n%s" % (args[2], args[3], args[4], hashlib.sha256(body).hexdigest())
        sig = base64.urlsafe_b64encode(load(args[1]).sign(text.encode()))
        print(sig.decode() if pad else sig.decode().rstrip("="))
    else:
        sys.exit("usage: did_sign.py new|did|sign ...")


main(sys.argv[1:])
