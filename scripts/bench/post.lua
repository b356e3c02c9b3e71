-- wrk script of scripts/bench.sh: POST a small text body ("bench", or the first argument after
-- "--") to the URL, and count the answers by status in each thread; at the end, print one line
-- "bench-status CODE COUNT" per status (wrk itself only counts statuses above 399 as errors,
-- and a POST /async-function must answer 202, a POST /function 200).
local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    statuses = {}
    wrk.method = "POST"
    wrk.body = args[1] or "bench"
    wrk.headers["Content-Type"] = "text/plain"
    req = wrk.format()
end

function request()
    return req
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        for code, n in pairs(thread:get("statuses") or {}) do
            total[code] = (total[code] or 0) + n
        end
    end
    for code, n in pairs(total) do
        io.write(string.format("bench-status %d %d\n", code, n))
    end
end
