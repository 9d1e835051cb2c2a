// The short names server_beast.cpp uses for Beast and Asio. Include it from there only:
// it is the api's only Beast/Asio translation unit, since Beast is slow to compile.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>

namespace medledger::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

}  // namespace medledger::api
