-- wrk script: every request carries a different user's token, so every join inserts.
-- Environment: BENCH_METHOD (GET), BENCH_PATH (/healthz), BENCH_PATHS (file, one path a line:
-- each request takes the next, so joins spread over many events), BENCH_TOKENS (file, one token
-- a line), BENCH_THREADS (wrk's -t, so threads take interleaved tokens and paths),
-- BENCH_DELAY_MS (a pause before each request on a connection: a crude rate limit for the
-- half-saturation runs), BENCH_BODY (a JSON body sent with every request: a join's answers to
-- entry conditions).
local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/healthz"
local paths_file = os.getenv("BENCH_PATHS")
local tokens_file = os.getenv("BENCH_TOKENS")
local stride = tonumber(os.getenv("BENCH_THREADS") or "1")
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0")
local body = os.getenv("BENCH_BODY")
if body == "" then body = nil end
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local function lines(file)
  local found = {}
  if file and file ~= "" then
    for line in io.lines(file) do found[#found + 1] = line end
  end
  return found
end

function init(args)
  tokens = lines(tokens_file)
  paths = lines(paths_file)
  index = id - stride
end

function request()
  local headers = {}
  index = index + stride
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(index % #tokens) + 1]
  end
  local target = path
  if #paths > 0 then target = paths[(index % #paths) + 1] end
  if body then
    headers["Content-Type"] = "application/json"
  elseif method == "POST" then
    headers["Content-Length"] = "0"
  end
  return wrk.format(method, target, headers, body)
end

function delay()
  return delay_ms
end
