-- wrk script for the benchmarks: replays prepared requests and checks every answer.
--
--   wrk -tTHREADS ... -s bench/requests.lua URL -- RECORDS EXPECT MODE FIRST THREADS
--
-- RECORDS holds the requests, separated by NUL bytes, each written as
--   METHOD PATH\r\nName: value\r\n...\r\n\r\nBODY
-- EXPECT is text that every good answer's body contains (with status 200).
-- MODE "cycle" replays the records round robin, each thread from its own offset; "once"
-- sends each record at most once over all threads, starting at record FIRST (1-based),
-- and stops a thread that runs out (for requests that may succeed only once, such as a
-- registration). done() prints how many answers failed the check, the record after the
-- last one sent (where the next "once" run starts) and whether the records ran out.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("thread_number", counter)
   table.insert(threads, thread)
end

local function split(text, separator)
   local parts, start = {}, 1
   while true do
      local at = string.find(text, separator, start, true)
      if not at then
         table.insert(parts, string.sub(text, start))
         return parts
      end
      table.insert(parts, string.sub(text, start, at - 1))
      start = at + #separator
   end
end

local function parse(record)
   local head_end = string.find(record, "\r\n\r\n", 1, true)
   local head = string.sub(record, 1, head_end - 1)
   local body = string.sub(record, head_end + 4)
   local lines = split(head, "\r\n")
   local method, path = string.match(lines[1], "^(%S+) (%S+)$")
   local headers = {}
   for i = 2, #lines do
      local name, value = string.match(lines[i], "^([^:]+): (.*)$")
      headers[name] = value
   end
   if body == "" then
      body = nil
   end
   return wrk.format(method, path, headers, body)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   local text = file:read("*a")
   file:close()
   expect = args[2]
   once = args[3] == "once"
   requests = {}
   for _, record in ipairs(split(text, "\0")) do
      if record ~= "" then
         table.insert(requests, parse(record))
      end
   end
   step = tonumber(args[5]) or 1
   if once then
      position = (tonumber(args[4]) or 1) - 1 + (thread_number - 1)
   else
      -- Each thread starts elsewhere in the records, so threads do not move in step.
      position = ((thread_number - 1) * math.floor(#requests / step)) % #requests
   end
   failures = 0
   sent_until = 0
   exhausted = 0
end

function request()
   if once then
      if position >= #requests then
         -- The loop ends after this call; the request returned may still go out, and
         -- its answer (a repeat) is not checked.
         exhausted = 1
         wrk.thread:stop()
         return requests[#requests]
      end
      local index = position + 1
      position = position + step
      sent_until = math.max(sent_until, index)
      return requests[index]
   end
   position = position % #requests + 1
   return requests[position]
end

function response(status, headers, body)
   if exhausted == 1 then
      return
   end
   if status ~= 200 or not string.find(body, expect, 1, true) then
      failures = failures + 1
   end
end

function done(summary, latency, requests)
   local failed, sent, exhausted_threads = 0, 0, 0
   for _, thread in ipairs(threads) do
      failed = failed + (thread:get("failures") or 0)
      sent = math.max(sent, thread:get("sent_until") or 0)
      exhausted_threads = exhausted_threads + (thread:get("exhausted") or 0)
   end
   io.write(string.format("bench-failures: %d\n", failed))
   io.write(string.format("bench-next: %d\n", sent + 1))
   io.write(string.format("bench-exhausted: %d\n", exhausted_threads))
end
