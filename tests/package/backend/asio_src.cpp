// The backend compiles Asio itself (BACKEND_OWN_ASIO): pollster must then
// bring no second copy of these definitions.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
