-- GET of the URL given to wrk, optionally with a session cookie
-- (BENCH_COOKIE="kura_session=..."): /healthz, nginx's 100-byte file,
-- and the authenticated read GET /api/v1/me.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
   wrk.headers["Cookie"] = cookie
end
