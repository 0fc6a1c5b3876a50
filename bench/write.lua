-- Authenticated write: PATCH BENCH_PATH (/api/v1/users/{id}) with
-- {"display_name": "..."} under the session cookie and CSRF token.  The
-- name cycles through 1000 values so every request is a real change
-- (sealed field re-encrypted, stored and audited in one transaction).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local path = os.getenv("BENCH_PATH")
wrk.method = "PATCH"
wrk.headers["Cookie"] = os.getenv("BENCH_COOKIE")
wrk.headers["X-CSRF-Token"] = os.getenv("BENCH_CSRF")
wrk.headers["Content-Type"] = "application/json"

local n = 0
request = function()
   n = n + 1
   return wrk.format(nil, path, nil,
      string.format('{"display_name":"Bench user %d"}', n % 1000))
end
