-- wrk -s: prints the exact bytes the client read and wrk's own run time (its summary line rounds to "10.01GB").
-- bench/download.sh counts throughput from these, not from what the server wrote (some of that is still in
-- socket buffers, unread, when wrk stops).
done = function(summary, latency, requests)
  io.write(string.format("client_bytes %d\nclient_us %d\n", summary.bytes, summary.duration))
end
