-- wrk script: one request per connection.  The "Connection: close" header
-- makes the proxy close the connection after the response; wrk then opens a
-- new connection for the next request.
wrk.method = "GET"
wrk.headers["Connection"] = "close"
