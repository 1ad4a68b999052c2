// A keep-alive HTTP session over libcurl, and the outcome facts a client needs to map a call
// onto ok / fail / info: whether the request left the harness at all.
#pragma once

#include <curl/curl.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace faultline {

struct HttpResponse {
  CURLcode curl_code = CURLE_OK;
  long status = 0;           // HTTP status; 0 when no response arrived
  std::string body;
  bool request_sent = false; // false: certainly never reached the server (safe to call a fail)
  std::string error;         // curl's message when curl_code != CURLE_OK

  bool transport_ok() const { return curl_code == CURLE_OK; }
  bool timed_out() const { return curl_code == CURLE_OPERATION_TIMEDOUT; }
};

// One connection (kept alive across calls). Not thread-safe: one per worker.
class HttpSession {
 public:
  HttpSession();
  ~HttpSession();
  HttpSession(const HttpSession&) = delete;
  HttpSession& operator=(const HttpSession&) = delete;

  HttpResponse post_json(const std::string& url, const std::string& body, long timeout_ms);
  // Any method (GET, POST, PUT, DELETE, PATCH); `headers` are "Name: value" lines. A GET
  // with an empty body is sent as a plain GET, anything else carries `body`.
  HttpResponse send(const std::string& method, const std::string& url,
                    const std::vector<std::string>& headers, const std::string& body,
                    long timeout_ms);

 private:
  CURL* curl_;
};

// Register values over APIs that store text: a value is stored as its JSON text (a string as
// itself), and text read back is parsed as JSON when it is JSON ("3" reads as 3).
std::string value_text(const nlohmann::json& value);
nlohmann::json parse_value(const std::string& text);

std::string base64_encode(const std::string& bytes);
// Throws std::invalid_argument on a character outside the base64 alphabet.
std::string base64_decode(const std::string& text);

}  // namespace faultline
