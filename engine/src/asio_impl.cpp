// The one translation unit that compiles Asio, Asio's OpenSSL layer and Beast
// (BOOST_*_SEPARATE_COMPILATION): they are heavy, builds run on two cores,
// and every other file then compiles against declarations only.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
