#!/bin/sh
# make run: create a demo data directory once (with a demo tenant and its
# admin), then serve it on https://localhost:8443 until Ctrl-C.
set -eu
kura=$1
dir=$2
port=${KURA_DEMO_PORT:-8443}

if [ ! -f "$dir/kura.ini" ]; then
	"$kura" init --data-dir "$dir" >/dev/null
	echo "Creating the demo tenant..."
	out=$("$kura" tenant create --data-dir "$dir" --contract-id demo \
		--name "Demo Company" --seats 25 --region jp --timezone Asia/Tokyo \
		--admin-login admin --admin-email admin@demo.example)
	pw=$(printf '%s\n' "$out" | sed -n 's/^one-time password: //p')
	cat <<MSG

  kura demo data directory: $dir
  Open the web console at https://localhost:$port/console/ and sign in with
      contract id: demo
      login id:    admin
      password:    $pw   (one-time: shown only now; you will set your own)
  (the console then asks you to choose your own password), or use the API,
  e.g.  curl --cacert $dir/tls/cert.pem -c jar -H 'Content-Type: application/json' \\
          -d '{"contract_id":"demo","login_id":"admin","password":"$pw"}' \\
          https://localhost:$port/api/v1/auth/login
  The certificate is self-signed for localhost ($dir/tls/cert.pem):
  a browser warns once; curl verifies it with --cacert as above.
  To start over: rm -rf $dir && make run

MSG
else
	cat <<MSG

  kura demo data directory: $dir (existing)
  Open https://localhost:$port/console/ and sign in as contract id 'demo',
  login id 'admin',
  with the password you set (the one-time password was shown when the demo
  was created; to start over: rm -rf $dir && make run).

MSG
fi
exec "$kura" serve --data-dir "$dir" --listen "127.0.0.1:$port" --listen "[::1]:$port"
