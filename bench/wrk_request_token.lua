-- wrk script: POST /keys/{keyName}/requestToken with pre-signed TokenRequests, each used once.
-- Env: RTA_BODIES (file, one JSON TokenRequest per line), RTA_KEY_NAME. wrk runs one Lua state
-- per thread; thread k of n takes lines k, k+n, k+2n, ... so no nonce is sent twice.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local nthreads = tonumber(os.getenv("RTA_THREADS") or "1")
  bodies = {}
  local i = 0
  for line in io.lines(os.getenv("RTA_BODIES")) do
    if i % nthreads == id then bodies[#bodies + 1] = line end
    i = i + 1
  end
  path = "/keys/" .. os.getenv("RTA_KEY_NAME") .. "/requestToken"
  headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  next_body = 1
end

function request()
  local body = bodies[next_body]
  if next_body < #bodies then next_body = next_body + 1 end -- past the end: replays (non-2xx)
  return wrk.format("POST", path, headers, body)
end
