#!/usr/bin/env bash
# mkcerts.sh DIR: makes the certificates the TLS tests use, with the
# openssl command, into DIR (created if missing). Nothing outside DIR is
# touched. Made:
#   ca.pem ca.key            the test CA
#   server.pem server.key    CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   USER.pem USER.key        client certificates, CN=USER, for root,
#                            nf_alice, nf_bob and nf_carol (revoked in crl.pem)
#   san.pem san.key          no CN; SAN DNS:nf_alice (identity from the SAN)
#   expired.pem/.key         CN=nf_alice, valid in 2001 only
#   future.pem/.key          CN=nf_alice, valid from 2099 on
#   other-ca.pem, other.pem/.key, other-server.pem/.key: a second CA and a
#                            client (CN=nf_alice) and server it signed
#   crl.pem                  the CA's CRL, revoking nf_carol
#   psk.txt, wrong-psk.txt   pre-shared key files (one "KEY" line each)
# Usage: mkcerts.sh DIR
set -euo pipefail
dir=${1:?usage: mkcerts.sh DIR}
mkdir -p "$dir"
cd "$dir"

# A minimal CA for `openssl ca`, which alone can set past and future
# validity dates and keep the revocation database a CRL is made from.
mkca() { # name
  local n=$1
  mkdir -p "$n.db"
  : >"$n.db/index.txt"
  echo 1000 >"$n.db/serial"
  echo 1000 >"$n.db/crlnumber"
  cat >"$n.cnf" <<CNF
[ ca ]
default_ca = d
[ d ]
dir = $PWD/$n.db
database = \$dir/index.txt
serial = \$dir/serial
crlnumber = \$dir/crlnumber
new_certs_dir = \$dir
certificate = $PWD/$n.pem
private_key = $PWD/$n.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = ninefold test $n
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ leaf ]
basicConstraints = CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
CNF
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$n.key" -out "$n.pem" -days 30 -config "$n.cnf" -extensions v3_ca 2>/dev/null
}

# leaf CA NAME SUBJ [SAN] [extra openssl ca args...]
leaf() {
  local ca=$1 name=$2 subj=$3 san=${4:-}
  shift 4 || shift $#
  local req=(openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes
    -keyout "$name.key" -out "$name.csr" -subj "$subj")
  [[ -n $san ]] && req+=(-addext "subjectAltName=$san")
  "${req[@]}" 2>/dev/null
  openssl ca -batch -config "$ca.cnf" -extensions leaf -in "$name.csr" -out "$name.pem" \
    -notext "$@" 2>/dev/null
  rm -f "$name.csr"
}

mkca ca
mkca other-ca
leaf ca server "/CN=localhost" "DNS:localhost,IP:127.0.0.1"
for u in root glenda nf_alice nf_bob nf_carol; do leaf ca "$u" "/CN=$u" ""; done
leaf ca san "/O=ninefold" "DNS:nf_alice"
leaf ca expired "/CN=nf_alice" "" -startdate 20010101000000Z -enddate 20011231000000Z
leaf ca future "/CN=nf_alice" "" -startdate 20990101000000Z -enddate 20991231000000Z
leaf other-ca other "/CN=nf_alice" ""
leaf other-ca other-server "/CN=localhost" "DNS:localhost,IP:127.0.0.1"
openssl ca -batch -config ca.cnf -revoke nf_carol.pem 2>/dev/null
openssl ca -batch -config ca.cnf -gencrl -out crl.pem 2>/dev/null
openssl rand -hex 32 >psk.txt
openssl rand -hex 32 >wrong-psk.txt
chmod 600 ./*.key psk.txt wrong-psk.txt
