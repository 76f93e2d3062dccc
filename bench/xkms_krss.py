"""XKMS benchmark (issue 6): Register of a server-generated key, Reissue, Recover, beside
the cost of their cryptography alone.

`python -m bench.xkms_krss` (part of `make bench`). Like bench/xkms.py it makes a home with
`passport init`, serves Passport with 2 workers on SQLite over plain HTTP on 127.0.0.1
(SOAP 1.1, bench/run.py's server start and stop), and loads it with wrk replaying
pre-built request bodies through bench/requests.lua, which checks that every answer says
Success. No client-side signing happens while a load is timed.

    Register (generated)  RegisterRequest without KeyInfo, RespondWith KeyValue and
                          PrivateKey, KeyBindingAuthentication (HMAC-SHA1): Passport makes
                          an RSA-2048 key, escrows it and returns it tripledes-cbc encrypted
                          (wrk cycles 64 bodies: Passport keeps no request-Id replay cache)
    Reissue               ReissueRequest for one of 32 client keys registered beforehand:
                          KeyBindingAuthentication (HMAC-SHA1) and ProofOfPossession
                          (RSA-SHA256, RSA-2048) (wrk cycles the 32 bodies)
    Recover               RecoverRequest with KeyBindingAuthentication (HMAC-SHA1) for an
                          escrowed binding; the binding is revoked, so each body is sent
                          once (wrk "once" mode) and each has its own binding, stored before
                          the load as Register stores a generated key (see _recover_pool)

Each user has one passcode with a million uses, so every operation has one candidate
passcode to try. Beside them, in the same interleaved rounds, raw loops in 2 processes
(the server's 2 cores) do the same cryptography in-process, with no HTTP, SOAP, database or
audit (bench/harness.py's raw loops):

    keygen RSA-2048        rsa.generate_private_key(65537, 2048)
    sign RSA-NNNN          parse an unsigned ReissueResult envelope, xmlsec enveloped
                           signature with the service key (exclusive c14n, SHA-256,
                           RSA-SHA256), serialise (bench.raw:xmlsec_sign)
    verify HMAC-SHA1       parse a request, xmlsec-verify its KeyBindingAuthentication
    verify PoP RSA-2048    parse a ReissueRequest, key from its KeyValue, xmlsec-verify
                           its ProofOfPossession
    3DES RSAKeyPair        RSAKeyPair XML of a 2048-bit key, tripledes-cbc encrypted
    escrow open            AES-256-GCM open + PKCS#8 DER load of a 2048-bit key (Recover)
    crypto Register/Reissue/Recover
                           each operation's cryptography in sequence, its own result
                           signed (see _crypto_register and friends)
"""

from __future__ import annotations

import argparse
import base64
import itertools
import math
import secrets
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import xmlsec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree

from bench import raw, xkms_requests
from bench.harness import (
    Figure,
    Record,
    WrkTarget,
    arguments,
    counted,
    figure_rows,
    interleave,
    method_line,
    on_xkms_home,
    raw_load,
    save,
    write_records,
    wrk_load,
)
from bench.run import HOST, BenchError, _server, server_settings
from bench.xkms import SOAP_HEADERS, SUCCESS, _expect, _post, _unsigned, _verify_result_signature
from passport.config import Settings
from passport.identity.audit import Actor
from passport.services import Services
from passport.xkms import names
from passport.xkms.bindings import BindingStore, NewBinding
from passport.xkms.factory import passcode_service
from passport.xkms.keys import key_fingerprint, key_value_element
from passport.xkms.messages import new_id
from passport.xkms.passcodes import UseKeyWith
from passport.xkms.private_keys import (
    decrypt_private_key_element,
    open_private_key,
    private_key_element,
    seal_private_key,
)
from passport.xkms.secrets import authentication_key, private_key_cipher_key
from passport.xkms.service_keys import data_key_path, service_key_paths
from passport.xkms.vault import Vault

WORKERS = 2
SECTION = "xkms-krss"
ACTOR = Actor("cli:bench", "local")
USES = 1_000_000
EMAILS = {
    "generate": "generate@bench.example",
    "reissue": "reissue@bench.example",
    "recover": "recover@bench.example",
}
GENERATE_BODIES = 64
REISSUE_KEYS = 32
RECOVER_MIN, RECOVER_MAX = 300, 6000
CONNECTIONS = 8
_c = xmlsec.constants


def main() -> int:
    """Run the benchmark; print and save its figures."""
    parser = arguments(__doc__.split("\n", 1)[0])
    parser.set_defaults(connections=CONNECTIONS)
    options = parser.parse_args()
    done = on_xkms_home(options, "XKMS KRSS", lambda home, url: _bench(options, home, url))
    if done is None:
        return 1
    described, (figures, facts) = done
    summary = _summary(figures, facts)
    table = _table(figures, summary, facts, described, options)
    print(table)
    save(
        "xkms-krss",
        {"machine": described, "facts": facts, "figures": figures, "summary": summary},
        table,
        options,
    )
    return 0


# Requests ---------------------------------------------------------------------------------


def _sign(
    parent: etree._Element,
    reference_id: str,
    method: xmlsec.Transform,
    digest: xmlsec.Transform,
    key: xmlsec.Key,
) -> None:
    signature = xmlsec.template.create(parent, _c.TransformExclC14N, method, ns="ds")
    parent.append(signature)
    reference = xmlsec.template.add_reference(signature, digest, uri="#" + reference_id)
    xmlsec.template.add_transform(reference, _c.TransformExclC14N)
    context = xmlsec.SignatureContext()
    context.key = key
    context.sign(signature)


def _krss_request(
    kind: str,
    binding_tag: str,
    service: str,
    identifier: str,
    passcode: str,
    *,
    public_key: rsa.RSAPublicKey | None = None,
    status: str | None = None,
    respond_private_key: bool = False,
    proof_key: rsa.RSAPrivateKey | None = None,
) -> bytes:
    """A KRSS request with one key binding, KeyBindingAuthentication (HMAC-SHA1 over the
    binding, SHA-1 digest, as the Recommendation's samples) and, with `proof_key`, a
    ProofOfPossession (RSA-SHA256, SHA-256 digest)."""
    request = xkms_requests._request(kind, service)  # RespondWith KeyValue
    if respond_private_key:
        etree.SubElement(request, names.q("RespondWith")).text = names.RESPOND_PRIVATE_KEY
    binding = etree.SubElement(request, names.q(binding_tag))
    binding_id = "B" + secrets.token_hex(16)
    binding.set("Id", binding_id)
    if public_key is not None:
        etree.SubElement(binding, names.ds("KeyInfo")).append(key_value_element(public_key))
    if kind == "RegisterRequest":
        etree.SubElement(binding, names.q("KeyUsage")).text = names.SIGNATURE
    xkms_requests._use_key_with(binding, identifier)
    if status is not None:
        etree.SubElement(binding, names.q("Status"), StatusValue=names.XKMS + status)
    authentication = etree.SubElement(request, names.q("Authentication"))
    holder = etree.SubElement(authentication, names.q("KeyBindingAuthentication"))
    proof = None if proof_key is None else etree.SubElement(request, names.q("ProofOfPossession"))
    envelope = xkms_requests._envelope(request)
    xmlsec.tree.add_ids(envelope, ["Id"])
    hmac_key = xmlsec.Key.from_binary_data(_c.KeyDataHmac, authentication_key(passcode))
    _sign(holder, binding_id, _c.TransformHmacSha1, _c.TransformSha1, hmac_key)
    if proof is not None and proof_key is not None:
        pem = proof_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        rsa_key = xmlsec.Key.from_memory(pem, _c.KeyDataFormatPem)
        _sign(proof, binding_id, _c.TransformRsaSha256, _c.TransformSha256, rsa_key)
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


def generated_register(service: str, identifier: str, passcode: str) -> bytes:
    """Register a key Passport makes: no KeyInfo, RespondWith PrivateKey, no proof."""
    return _krss_request(
        "RegisterRequest",
        "PrototypeKeyBinding",
        service,
        identifier,
        passcode,
        respond_private_key=True,
    )


def reissue(service: str, identifier: str, passcode: str, key: rsa.RSAPrivateKey) -> bytes:
    """Reissue the binding of `key`, with proof of possession."""
    return _krss_request(
        "ReissueRequest",
        "ReissueKeyBinding",
        service,
        identifier,
        passcode,
        public_key=key.public_key(),
        status="Valid",
        proof_key=key,
    )


def recover(service: str, identifier: str, passcode: str, public_key: rsa.RSAPublicKey) -> bytes:
    """Recover the escrowed private key of the binding of `public_key`."""
    return _krss_request(
        "RecoverRequest",
        "RecoverKeyBinding",
        service,
        identifier,
        passcode,
        public_key=public_key,
        status="Indeterminate",
        respond_private_key=True,
    )


# The run ----------------------------------------------------------------------------------


def _bench(
    options: argparse.Namespace, home: Path, url: str | None
) -> tuple[list[Figure], dict[str, Any]]:
    settings = server_settings(home, url, workers=WORKERS, xkms_enabled=True)
    port = settings.port
    service = settings.effective_public_url + settings.xkms_path
    passcodes = _prepare(settings)
    key_pem, certificate_pem = (path.read_bytes() for path in service_key_paths(home))
    service_key = serialization.load_pem_private_key(key_pem, password=None)
    bits = getattr(service_key, "key_size", 0)
    scratch = home / "records"
    scratch.mkdir()
    print("bench: building requests (client keys, HMAC, proofs)", file=sys.stderr)
    primes = _primes(REISSUE_KEYS + 1)
    client_keys = [
        xkms_requests.key_from_primes(p, q)
        for p, q in itertools.islice(itertools.combinations(primes, 2), REISSUE_KEYS + 1)
    ]
    generate_bodies = [
        generated_register(service, EMAILS["generate"], passcodes["generate"])
        for _ in range(GENERATE_BODIES)
    ]
    reissue_bodies = [
        reissue(service, EMAILS["reissue"], passcodes["reissue"], key)
        for key in client_keys[:REISSUE_KEYS]
    ]

    def records(name: str, bodies: Sequence[bytes]) -> Path:
        return write_records(
            scratch / name,
            [Record("POST", settings.xkms_path, SOAP_HEADERS, body) for body in bodies],
        )

    generate_records = records("generate", generate_bodies)
    reissue_records = records("reissue", reissue_bodies)
    print(f"bench: XKMS KRSS, {WORKERS} workers on {HOST}:{port}", file=sys.stderr)
    with _server(settings, home / "server.log") as group, counted(group):
        base = f"http://{HOST}:{port}"
        endpoint = base + settings.xkms_path
        # Setup, untimed: register the client keys that Reissue renews (one use each).
        for key in client_keys[:REISSUE_KEYS]:
            body = xkms_requests.register(service, EMAILS["reissue"], passcodes["reissue"], key)
            _expect(_post(endpoint, body), SUCCESS, "Register (client key)")
        answers = _check(endpoint, service, passcodes, generate_bodies[0], reissue_bodies[0])
        for answer in answers.values():
            _verify_result_signature(answer, certificate_pem)
        documents = {name: _unsigned(answer) for name, answer in answers.items()}
        escrow_key = secrets.token_bytes(32)
        sample_key = client_keys[REISSUE_KEYS]
        sealed = seal_private_key(Vault(escrow_key), sample_key)
        hmac_key = authentication_key(passcodes["reissue"])
        cipher_key = private_key_cipher_key(passcodes["reissue"], 24)
        key_der = sample_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        recover_sample = recover(
            service, EMAILS["recover"], passcodes["recover"], sample_key.public_key()
        )
        recover_hmac = authentication_key(passcodes["recover"])
        facts: dict[str, Any] = {
            "service_key_bits": bits,
            "generated_key_bits": settings.xkms_generated_key_bits,
            "private_key_cipher": settings.xkms_private_key_cipher,
            "request_bytes": {
                "Register (generated)": len(generate_bodies[0]),
                "Reissue": len(reissue_bodies[0]),
                "Recover": len(recover_sample),
            },
            "response_bytes": {name: len(answer) for name, answer in answers.items()},
        }
        reissue_target = WrkTarget(base, reissue_records, SUCCESS, server_group=group)
        generate_target = WrkTarget(base, generate_records, SUCCESS, server_group=group)
        loads = [
            wrk_load(
                "Register (generated)",
                generate_target,
                options,
                WORKERS,
                note="server makes an RSA-2048 key",
            ),
            raw_load(
                "crypto Register",
                "bench.xkms_krss:crypto_register",
                (
                    generate_bodies[0],
                    authentication_key(passcodes["generate"]),
                    *documents["Register (generated)"],
                    key_pem,
                ),
                WORKERS,
            ),
            raw_load("keygen RSA-2048", "bench.xkms_krss:keygen", (), WORKERS),
            wrk_load("Reissue", reissue_target, options, WORKERS),
            raw_load(
                "crypto Reissue",
                "bench.xkms_krss:crypto_reissue",
                (reissue_bodies[0], hmac_key, *documents["Reissue"], key_pem),
                WORKERS,
            ),
            raw_load(
                f"sign RSA-{bits}",
                "bench.raw:xmlsec_sign",
                (*documents["Reissue"], key_pem),
                WORKERS,
            ),
            raw_load(
                "verify HMAC-SHA1",
                "bench.xkms_krss:verify_hmac",
                (reissue_bodies[0], hmac_key),
                WORKERS,
            ),
            raw_load(
                "verify PoP RSA-2048",
                "bench.xkms_krss:verify_proof",
                (reissue_bodies[0],),
                WORKERS,
            ),
            raw_load(
                "3DES RSAKeyPair",
                "bench.xkms_krss:encrypt_key_pair",
                (key_der, cipher_key),
                WORKERS,
            ),
            raw_load(
                "escrow open",
                "bench.xkms_krss:open_escrow",
                (escrow_key, sealed),
                WORKERS,
            ),
        ]
        figures = interleave(SECTION, loads, options)
        # Each Recover opens one escrowed key: at most that rate, and at most Reissue's.
        rates = {f.name: f.rate for f in figures}
        expected = min(rates["Reissue"], rates["escrow open"])
        seconds = options.warmup + options.rounds * options.duration
        count = min(RECOVER_MAX, max(RECOVER_MIN, math.ceil(1.5 * expected * seconds)))
        recover_records = records(
            "recover", _recover_pool(settings, service, passcodes["recover"], count)
        )
        facts["recover_pool"] = count
        recover_target = WrkTarget(base, recover_records, SUCCESS, server_group=group, once=True)
        figures += interleave(
            SECTION,
            [
                wrk_load(
                    "Recover",
                    recover_target,
                    options,
                    WORKERS,
                    note="each body once, its own escrowed binding",
                ),
                raw_load(
                    "crypto Recover",
                    "bench.xkms_krss:crypto_recover",
                    (
                        recover_sample,
                        recover_hmac,
                        escrow_key,
                        sealed,
                        cipher_key,
                        *documents["Recover"],
                        key_pem,
                    ),
                    WORKERS,
                ),
            ],
            options,
        )
        print("bench: CPU per operation of the raw loops, in this process", file=sys.stderr)
        generate_hmac = authentication_key(passcodes["generate"])
        facts["cpu_ms_per_op"] = {
            "keygen RSA-2048": _cpu_per_operation(keygen, (), 100, 20),
            "crypto Register": _cpu_per_operation(
                crypto_register,
                (generate_bodies[0], generate_hmac, *documents["Register (generated)"], key_pem),
                60,
                20,
            ),
            "crypto Reissue": _cpu_per_operation(
                crypto_reissue,
                (reissue_bodies[0], hmac_key, *documents["Reissue"], key_pem),
                500,
                10,
            ),
            "crypto Recover": _cpu_per_operation(
                crypto_recover,
                (
                    recover_sample,
                    recover_hmac,
                    escrow_key,
                    sealed,
                    cipher_key,
                    *documents["Recover"],
                    key_pem,
                ),
                100,
                15,
            ),
            "escrow open": _cpu_per_operation(open_escrow, (escrow_key, sealed), 100, 15),
        }
    return figures, facts


def _cpu_per_operation(
    function: Any, arguments: tuple[Any, ...], minimum: int, limit_s: float
) -> float:
    """CPU ms per operation of a raw loop run here, one process (time.process_time).

    Unlike a rate, it does not fall when other work takes the cores, so it compares with
    the server's CPU per request (bench/harness.py) on a busy machine."""
    function(0.0, *arguments)
    count = 0
    cpu = time.process_time()
    started = time.monotonic()
    while count < minimum and time.monotonic() - started < limit_s:
        count += function(time.perf_counter() + 0.5, *arguments)
    return round((time.process_time() - cpu) / count * 1e3, 2)


def _primes(keys: int) -> list[int]:
    """Primes of freshly generated keys: enough for `keys` distinct pairs, made in 2
    processes (bench/xkms_requests.py: P primes give P(P-1)/2 moduli)."""
    primes_needed = math.ceil((1 + math.sqrt(1 + 8 * keys)) / 2)
    keys_needed = math.ceil(primes_needed / 2)
    shares = [keys_needed // WORKERS + (i < keys_needed % WORKERS) for i in range(WORKERS)]
    with ProcessPoolExecutor(WORKERS, mp_context=get_context("spawn")) as pool:
        return [p for batch in pool.map(xkms_requests._primes, shares) for p in batch]


def _prepare(settings: Settings) -> dict[str, str]:
    """A user per operation, each with one passcode of a million uses."""
    services = Services.from_settings(settings)
    try:
        service = passcode_service(settings, services.database, services.clock, services.audit)
        codes = {}
        for operation, email in EMAILS.items():
            user = services.users.create(f"bench-{operation}", None, ACTOR)
            codes[operation], _ = service.authorize(
                user, [UseKeyWith(xkms_requests.RFC2633, email)], ACTOR, uses=USES
            )
    finally:
        services.database.dispose()
    return codes


def _check(
    endpoint: str,
    service: str,
    passcodes: dict[str, str],
    generate_body: bytes,
    reissue_body: bytes,
) -> dict[str, bytes]:
    """One of each operation answers Success before anything is timed: the generated key
    decrypts with the passcode and matches the KeyValue; Recover of that (truly
    server-generated) binding returns the same key."""
    registered = _post(endpoint, generate_body)
    _expect(registered, SUCCESS, "Register (generated)")
    generated = _returned_key(registered, passcodes["generate"])
    if generated.key_size != 2048:
        raise BenchError(f"Passport generated a {generated.key_size}-bit key")
    reissued = _post(endpoint, reissue_body)
    _expect(reissued, SUCCESS, "Reissue")
    recovered = _post(
        endpoint,
        recover(service, EMAILS["generate"], passcodes["generate"], generated.public_key()),
    )
    _expect(recovered, SUCCESS, "Recover")
    if _returned_key(recovered, passcodes["generate"]).private_numbers() != (
        generated.private_numbers()
    ):
        raise BenchError("Recover returned another key than Register generated")
    return {"Register (generated)": registered, "Reissue": reissued, "Recover": recovered}


def _returned_key(answer: bytes, passcode: str) -> rsa.RSAPrivateKey:
    private = etree.fromstring(answer).find(f".//{names.q('PrivateKey')}")
    if private is None:
        raise BenchError(f"no PrivateKey in {answer[:600]!r}")
    pair = etree.fromstring(
        decrypt_private_key_element(private, private_key_cipher_key(passcode, 24))
    )

    def number(tag: str) -> int:
        return int.from_bytes(base64.b64decode(pair.findtext(names.q(tag)) or ""), "big")

    public = rsa.RSAPublicNumbers(number("Exponent"), number("Modulus"))
    return rsa.RSAPrivateNumbers(
        number("P"),
        number("Q"),
        number("D"),
        number("DP"),
        number("DQ"),
        number("InverseQ"),
        public,
    ).private_key()


def _recover_pool(settings: Settings, service: str, passcode: str, count: int) -> list[bytes]:
    """`count` escrowed bindings of the recover user, and a RecoverRequest for each.

    Untimed setup. Generating `count` keys through the server would take minutes (key
    generation is the cost measured above), so the keys come from paired primes
    (bench/xkms_requests.py) and the rows are written with Passport's own BindingStore and
    seal_private_key, with the home's data key: the rows server-generated Register writes.
    """
    print(f"bench: storing {count} escrowed bindings for Recover", file=sys.stderr)
    primes = _primes(count)
    keys = [
        _unchecked_key(p, q) for p, q in itertools.islice(itertools.combinations(primes, 2), count)
    ]
    services = Services.from_settings(settings)
    try:
        codes = passcode_service(settings, services.database, services.clock, services.audit)
        vault = Vault.from_file(data_key_path(settings.home))
        pair = UseKeyWith(xkms_requests.RFC2633, EMAILS["recover"])
        now = services.clock.now()
        with services.database.read() as connection:
            (stored,) = codes.candidates(connection, (pair,))
        store = BindingStore()
        with services.database.write() as connection:
            for key in keys:
                public_key = key.public_key()
                store.insert(
                    connection,
                    NewBinding(
                        binding_id=new_id(),
                        user_id=stored.user_id,
                        passcode_id=stored.id,
                        key_fingerprint=key_fingerprint(public_key),
                        public_key_pem=public_key.public_bytes(
                            serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo,
                        ).decode("ascii"),
                        key_name=None,
                        key_usages=(names.SIGNATURE,),
                        not_before=now,
                        not_after=now + timedelta(days=settings.xkms_default_validity_days),
                        revocation_code_identifier=None,
                        use_key_with=(pair,),
                        private_key_escrow=seal_private_key(vault, key),
                    ),
                    now,
                )
    finally:
        services.database.dispose()
    return [recover(service, EMAILS["recover"], passcode, key.public_key()) for key in keys]


def _unchecked_key(p: int, q: int) -> rsa.RSAPrivateKey:
    """xkms_requests.key_from_primes without OpenSSL's key check (about 40 ms a key here,
    the same check that makes "escrow open" slow): these keys are built from known primes."""
    e = xkms_requests.PUBLIC_EXPONENT
    d = pow(e, -1, (p - 1) * (q - 1))
    return rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    ).private_key(unsafe_skip_rsa_key_validation=True)


# Raw loops (bench/harness.py runs them in 2 processes) ------------------------------------


def _until(deadline: float, work: Any) -> int:
    count = 0
    while True:
        work()
        count += 1
        if time.perf_counter() >= deadline:
            return count


def _request_parts(body: bytes, holder: str) -> tuple[etree._Element, etree._Element, str]:
    """The parsed envelope, the signature inside `holder` and the binding's Id."""
    root = etree.fromstring(body)
    xmlsec.tree.add_ids(root, ["Id"])
    signature = root.find(f".//{names.q(holder)}/{names.ds('Signature')}")
    if signature is None:
        raise BenchError(f"no signature in {holder}")
    reference = signature.find(f".//{names.ds('Reference')}")
    return root, signature, ("" if reference is None else reference.get("URI", ""))[1:]


def _verify_hmac_once(body: bytes, hmac_key: bytes) -> None:
    _, signature, _ = _request_parts(body, "KeyBindingAuthentication")
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_binary_data(_c.KeyDataHmac, hmac_key)
    context.verify(signature)


def _verify_proof_once(body: bytes) -> None:
    root, signature, binding_id = _request_parts(body, "ProofOfPossession")
    (binding,) = root.xpath("//*[@Id=$id]", id=binding_id)
    rsa_value = binding.find(f".//{names.ds('RSAKeyValue')}")

    def number(tag: str) -> int:
        return int.from_bytes(base64.b64decode(rsa_value.findtext(names.ds(tag)) or ""), "big")

    public_key = rsa.RSAPublicNumbers(number("Exponent"), number("Modulus")).public_key()
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    context = xmlsec.SignatureContext()
    context.key = xmlsec.Key.from_memory(pem, _c.KeyDataFormatPem)
    context.verify(signature)


def _sign_once(document: bytes, element_id: str, key_pem: bytes) -> None:
    raw.xmlsec_sign(0.0, document, element_id, key_pem)  # deadline 0: exactly once


def keygen(deadline: float) -> int:
    """RSA-2048 key pairs generated (what server-generated Register does first)."""
    return _until(deadline, lambda: xkms_requests.new_key(2048))


def verify_hmac(deadline: float, body: bytes, hmac_key: bytes) -> int:
    """Parse the request and verify its KeyBindingAuthentication (HMAC-SHA1)."""
    return _until(deadline, lambda: _verify_hmac_once(body, hmac_key))


def verify_proof(deadline: float, body: bytes) -> int:
    """Parse the request and verify its ProofOfPossession with the key in its KeyValue."""
    return _until(deadline, lambda: _verify_proof_once(body))


def encrypt_key_pair(deadline: float, key_der: bytes, cipher_key: bytes) -> int:
    """The RSAKeyPair of a 2048-bit key, tripledes-cbc encrypted."""
    key = serialization.load_der_private_key(key_der, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise BenchError("not an RSA key")
    return _until(deadline, lambda: private_key_element(key, cipher_key, "tripledes-cbc"))


def open_escrow(deadline: float, escrow_key: bytes, sealed: str) -> int:
    """AES-256-GCM open and PKCS#8 DER load of an escrowed 2048-bit key, as Recover does."""
    vault = Vault(escrow_key)
    return _until(deadline, lambda: open_private_key(vault, sealed))


def crypto_register(
    deadline: float,
    body: bytes,
    hmac_key: bytes,
    document: bytes,
    element_id: str,
    key_pem: bytes,
) -> int:
    """Register (generated), cryptography only: HMAC verify, keygen, escrow seal, 3DES of
    the RSAKeyPair, the RegisterResult signed with the service key."""
    vault = Vault(secrets.token_bytes(32))
    cipher_key = secrets.token_bytes(24)

    def work() -> None:
        _verify_hmac_once(body, hmac_key)
        key = xkms_requests.new_key(2048)
        seal_private_key(vault, key)
        private_key_element(key, cipher_key, "tripledes-cbc")
        _sign_once(document, element_id, key_pem)

    return _until(deadline, work)


def crypto_reissue(
    deadline: float,
    body: bytes,
    hmac_key: bytes,
    document: bytes,
    element_id: str,
    key_pem: bytes,
) -> int:
    """Reissue, cryptography only: HMAC verify, PoP verify, the ReissueResult signed."""

    def work() -> None:
        _verify_hmac_once(body, hmac_key)
        _verify_proof_once(body)
        _sign_once(document, element_id, key_pem)

    return _until(deadline, work)


def crypto_recover(
    deadline: float,
    body: bytes,
    hmac_key: bytes,
    escrow_key: bytes,
    sealed: str,
    cipher_key: bytes,
    document: bytes,
    element_id: str,
    key_pem: bytes,
) -> int:
    """Recover, cryptography only: HMAC verify, escrow open, 3DES of the RSAKeyPair, the
    RecoverResult signed."""

    vault = Vault(escrow_key)

    def work() -> None:
        _verify_hmac_once(body, hmac_key)
        key = open_private_key(vault, sealed)
        private_key_element(key, cipher_key, "tripledes-cbc")
        _sign_once(document, element_id, key_pem)

    return _until(deadline, work)


# Reporting --------------------------------------------------------------------------------

OPERATIONS = {
    "Register (generated)": "crypto Register",
    "Reissue": "crypto Reissue",
    "Recover": "crypto Recover",
}


def _summary(figures: Sequence[Figure], facts: dict[str, Any]) -> dict[str, Any]:
    """Each operation beside its cryptography alone, and key generation's share."""
    by_name = {f.name: f for f in figures}
    cpu = facts.get("cpu_ms_per_op", {})
    operations = {}
    for operation, crypto in OPERATIONS.items():
        served, alone = by_name.get(operation), by_name.get(crypto)
        if served is None or alone is None:
            continue
        operations[operation] = {
            "per_s": served.rate,
            "p50_ms": served.p50_ms,
            "p99_ms": served.p99_ms,
            "server_cpu_us": served.server_cpu_us,
            "crypto_alone_per_s": alone.rate,
            "ratio": round(served.rate / alone.rate, 2) if alone.rate else None,
            "crypto_cpu_ms": cpu.get(crypto),
            "crypto_share_of_server_cpu": _share(cpu.get(crypto), served.server_cpu_us),
        }
    share: dict[str, Any] = {}
    register, keygen_figure = by_name.get("Register (generated)"), by_name.get("keygen RSA-2048")
    if register is not None and keygen_figure is not None and keygen_figure.rate:
        # Both on the same 2 cores: a key costs 1/keygen rate of the machine's time, a
        # Register 1/register rate of it.
        share["of_wall_time"] = round(register.rate / keygen_figure.rate, 3)
        share["keygen_cpu_ms"] = cpu.get("keygen RSA-2048")
        share["register_server_cpu_ms"] = _ms_of(register.server_cpu_us)
        share["of_server_cpu"] = _share(cpu.get("keygen RSA-2048"), register.server_cpu_us)
        crypto = by_name.get("crypto Register")
        if crypto is not None and crypto.rate:
            share["of_crypto_alone"] = round(crypto.rate / keygen_figure.rate, 3)
    return {"operations": operations, "keygen_share_of_register": share}


def _share(cpu_ms: float | None, server_cpu_us: float | None) -> float | None:
    if cpu_ms is None or not server_cpu_us:
        return None
    return round(cpu_ms * 1e3 / server_cpu_us, 3)


def _ms_of(microseconds: float | None) -> float | None:
    return None if microseconds is None else round(microseconds / 1e3, 2)


def _table(
    figures: list[Figure],
    summary: dict[str, Any],
    facts: dict[str, Any],
    described: dict[str, Any],
    options: argparse.Namespace,
) -> str:
    bits = facts["service_key_bits"]
    lines = [
        f"Passport XKMS KRSS benchmark, {described['date']}, commit {described['commit']}",
        f"{described['cpus']} CPUs ({described['cpu']}), Python {described['python']}, "
        f"granian {described['versions']['granian']}, xmlsec {described['versions']['xmlsec']} "
        f"(libxmlsec1 {described['xmlsec_library']}), cryptography "
        f"{described['versions']['cryptography']}",
        method_line(options),
        f"Passport: {WORKERS} workers on SQLite, SOAP 1.1, results signed with the service key "
        f"(RSA-{bits}); generated keys RSA-{facts['generated_key_bits']}, returned "
        f"{facts['private_key_cipher']}; raw loops: {WORKERS} processes; Recover pool "
        f"{facts['recover_pool']} bindings",
        f"load average (1, 5, 15 min) before: {described['load_average_before']}, after: "
        f"{described['load_average_after']}; others' CPU before start: "
        f"{described['others_cores_before']} cores (waited {described['waited_s']} s)",
        "",
        *figure_rows(figures),
        "",
        "'others' = cores used meanwhile by processes outside the benchmark",
        "",
        f"{'operation':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'crypto alone/s':>16}"
        f"{'ratio':>8}{'server CPU ms':>15}{'crypto CPU ms':>15}{'crypto share':>14}",
    ]
    for operation, row in summary["operations"].items():
        lines.append(
            f"{operation:<22}{row['per_s']:>8.1f}{_ms(row['p50_ms']):>9}{_ms(row['p99_ms']):>9}"
            f"{row['crypto_alone_per_s']:>16.1f}{_x(row['ratio']):>8}"
            f"{_ms(_ms_of(row['server_cpu_us'])):>15}{_ms(row['crypto_cpu_ms']):>15}"
            f"{_pct(row['crypto_share_of_server_cpu']):>14}"
        )
    lines += [
        "ratio = req/s over crypto alone/s (both on the same 2 cores); server CPU = the",
        "server's CPU per request; crypto CPU = the same cryptography in one process here",
        "CPU ms per operation here: "
        + ", ".join(f"{k} {v:.2f}" for k, v in facts.get("cpu_ms_per_op", {}).items()),
    ]
    share = summary["keygen_share_of_register"]
    if share:
        lines += [
            "",
            f"key generation in server-generated Register: {_pct(share.get('of_wall_time'))} "
            f"of its time on the 2 cores (Register/s over keygen/s), "
            f"{_pct(share.get('of_server_cpu'))} of the server's CPU per Register "
            f"({_ms(share.get('keygen_cpu_ms'))} of {_ms(share.get('register_server_cpu_ms'))} "
            "ms), "
            f"{_pct(share.get('of_crypto_alone'))} of its cryptography alone",
        ]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


if __name__ == "__main__":
    sys.exit(main())
