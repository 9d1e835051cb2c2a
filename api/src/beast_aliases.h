// The short names client_beast.cpp and server_beast.cpp use for Beast and Asio.
// Include it from those two only: they are the api's only Beast/Asio translation
// units, since Beast is slow to compile.
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
