"""Building the XKMS service and its passcode store from Passport's settings."""

from __future__ import annotations

from datetime import timedelta

from passport.config import Settings
from passport.identity.audit import AuditLog
from passport.identity.clock import Clock
from passport.storage.database import Database
from passport.xkms.ca import CertificateAuthority
from passport.xkms.keyring import previous_cas, published_certificates
from passport.xkms.passcodes import PasscodeService
from passport.xkms.policy import XkmsPolicy
from passport.xkms.service import XkmsService
from passport.xkms.service_keys import data_key_path, load_service_key
from passport.xkms.vault import Vault


def policy_from_settings(settings: Settings) -> XkmsPolicy:
    """The service policy the `xkms_*` settings describe."""
    return XkmsPolicy(
        min_rsa_bits=settings.xkms_min_rsa_bits,
        legacy_sha1=settings.xkms_legacy_sha1,
        accept_hmac_sha1=settings.xkms_accept_hmac_sha1,
        clock_skew=timedelta(seconds=settings.xkms_clock_skew_seconds),
        default_validity=timedelta(days=settings.xkms_default_validity_days),
        require_signed_requests=settings.xkms_require_signed_requests,
        trusted_client_keys=frozenset(k.lower() for k in settings.xkms_trusted_client_keys),
        accepted_services=frozenset(settings.xkms_accepted_services),
        generated_key_bits=settings.xkms_generated_key_bits,
        private_key_cipher=settings.xkms_private_key_cipher,
        keep_recovered=settings.xkms_keep_recovered,
        two_phase=frozenset(settings.xkms_two_phase),
        nonce_lifetime=timedelta(seconds=settings.xkms_nonce_seconds),
        approval=frozenset(settings.xkms_approval),
    )


def passcode_service(
    settings: Settings, database: Database, clock: Clock, audit: AuditLog
) -> PasscodeService:
    """Passcodes sealed with the home's data key (VaultError when it is missing)."""
    vault = Vault.from_file(data_key_path(settings.home))
    return PasscodeService(database, clock, audit, vault)


def xkms_service(
    settings: Settings, database: Database, clock: Clock, audit: AuditLog
) -> XkmsService:
    """The XKMS service at `settings.xkms_path`, signing with the home's service key."""
    return XkmsService(
        path=settings.xkms_path,
        database=database,
        clock=clock,
        audit=audit,
        passcodes=passcode_service(settings, database, clock, audit),
        service_key=load_service_key(settings.home),
        policy=policy_from_settings(settings),
        ca=CertificateAuthority.load(settings.home),
        previous_cas=tuple(previous_cas(settings.home)),
        certificate_bundle=published_certificates(settings.home),
    )
