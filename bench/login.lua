-- Sign-in: POST /api/v1/auth/login with the JSON body in BENCH_BODY
-- (contract id, login id, password of the bench tenant's admin).  Every
-- request is a full Argon2id verification and a new session.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
