// The Beast-free parts of the HTTPS client: URL parsing, response helpers.
#include <charconv>

#include "medledger/net/https_client.h"

namespace medledger::net {

namespace {
constexpr std::string_view kScheme = "https://";
constexpr std::uint16_t kDefaultHttpsPort = 443;
}  // namespace

core::Result<HttpsEndpoint> parse_https_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return core::make_error(core::ErrorCode::kInvalidArgument,
                            "URL '" + std::string(url) + "': " + why);
  };
  if (url.substr(0, kScheme.size()) != kScheme) return bad("expected https://host[:port]");
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.empty()) return bad("no host");
  if (rest.find_first_of("/?#@") != std::string_view::npos)
    return bad("only scheme, host and port are allowed");
  HttpsEndpoint endpoint;
  std::string_view port_text;
  if (rest.front() == '[') {  // [IPv6]:port
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    endpoint.host = std::string(rest.substr(1, close - 1));
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ]");
      port_text = after.substr(1);
    }
  } else {
    auto colon = rest.rfind(':');
    endpoint.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad("no host");
  endpoint.port = kDefaultHttpsPort;
  if (!port_text.empty() || rest.back() == ':') {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 ||
        value > 65535) {
      return bad("bad port");
    }
    endpoint.port = static_cast<std::uint16_t>(value);
  }
  return endpoint;
}

std::optional<std::string_view> HttpsResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

}  // namespace medledger::net
