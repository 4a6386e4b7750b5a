"""A throw-away CA and server certificate for HTTPS tests, and the CA as the
EFI_SIGNATURE_LIST OVMF takes through fw_cfg (etc/edk2/https/cacerts).

    cert, key, cacerts = make_tls(tmp, "198.18.5.1")
    netbootd --https IP:443 --tls-cert cert --tls-key key
    tb.vm("uefi", fw_cfg={"etc/edk2/https/cacerts": cacerts})

"""
import struct
import subprocess
import uuid
from pathlib import Path

# EFI_CERT_X509_GUID (UEFI 2.10 section 32.4.1), stored little-endian.
EFI_CERT_X509_GUID = uuid.UUID("a5c059a1-94e4-4aa7-87b5-ab155c2bf072")


def edk2_cacerts(der: bytes) -> bytes:
    """One EFI_SIGNATURE_LIST holding one X.509 certificate: the format OVMF
    reads from fw_cfg etc/edk2/https/cacerts into its TLS CA variable."""
    owner = uuid.uuid4().bytes_le
    sig_size = 16 + len(der)
    return (EFI_CERT_X509_GUID.bytes_le + struct.pack("<III", 28 + sig_size, 0, sig_size)
            + owner + der)


def make_tls(tmp: Path, ip: str):
    """CA + server certificate for IP (subjectAltName IP and DNS). Returns
    (server cert PEM, server key PEM, cacerts.bin for OVMF)."""
    def run(*args):
        subprocess.run(["openssl", *[str(a) for a in args]], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", tmp / "ca.key", "-out", tmp / "ca.pem", "-subj", "/CN=netbootd test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    (tmp / "ext.cnf").write_text(f"subjectAltName=IP:{ip},DNS:{ip}\n"
                                 "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp / "srv.key",
        "-out", tmp / "srv.csr", "-subj", f"/CN={ip}")
    run("x509", "-req", "-in", tmp / "srv.csr", "-CA", tmp / "ca.pem", "-CAkey", tmp / "ca.key",
        "-CAcreateserial", "-days", "2", "-out", tmp / "srv.pem", "-extfile", tmp / "ext.cnf")
    der = subprocess.run(["openssl", "x509", "-in", tmp / "ca.pem", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    (tmp / "cacerts.bin").write_bytes(edk2_cacerts(der))
    return tmp / "srv.pem", tmp / "srv.key", tmp / "cacerts.bin"
