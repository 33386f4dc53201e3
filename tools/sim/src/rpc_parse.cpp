// The only simulator translation unit that includes simdjson (compiled with
// the SIMD flags, see pollster_simd_tu in tools/sim/CMakeLists.txt).
#include "rpc.hpp"

#include <simdjson.h>

#include <charconv>

namespace pollster::sim::detail {

static_assert(simdjson::SIMDJSON_PADDING <= json_padding, "request buffers keep json_padding spare bytes");

namespace od = simdjson::ondemand;

struct request_parser::impl {
  od::parser parser;
  rpc_call call;
};

request_parser::request_parser() : impl_(std::make_unique<impl>()) {}
request_parser::~request_parser() = default;

namespace {

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Reads an integer member: a JSON integer, or a string holding one (real
// clusters accept "asyncHandle": "999999999", element-api.md). Anything else
// (float, bool, other strings, out of range) is bad.
void read_int(od::value v, param& st, std::int64_t& out) {
  od::json_type t;
  if (v.type().get(t)) {
    st = param::bad;
    return;
  }
  std::int64_t x = 0;
  if (t == od::json_type::string) {
    std::string_view s;
    if (v.get_string().get(s) || s.empty()) {
      st = param::bad;
      return;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec != std::errc{} || p != s.data() + s.size()) {
      st = param::bad;
      return;
    }
  } else if (t != od::json_type::number || v.get_int64().get(x)) {
    st = param::bad;
    return;
  }
  out = x;
  st = param::ok;
}

void read_string(od::value v, param& st, std::string_view& out) {
  st = v.get_string().get(out) ? param::bad : param::ok;
}

// The first mistyped member is the one the error names.
void note_bad(rpc_call& c, param st, std::string_view name) {
  if (st == param::bad && c.first_bad_param.empty()) c.first_bad_param = name;
}

// An integer member: read, and the first mistyped one named.
void int_param(od::value v, rpc_call& c, std::string_view name, param& st, std::int64_t& out) {
  read_int(v, st, out);
  note_bad(c, st, name);
}

// The integer members: where each one's status and value go.
struct int_member {
  std::string_view key;
  param rpc_call::*st;
  std::int64_t rpc_call::*value;
};
constexpr int_member int_members[] = {
    {"asyncHandle", &rpc_call::async_handle_st, &rpc_call::async_handle},
    {"volumeID", &rpc_call::volume_id_st, &rpc_call::volume_id},
    {"dstVolumeID", &rpc_call::dst_volume_id_st, &rpc_call::dst_volume_id},
    {"accountID", &rpc_call::account_id_st, &rpc_call::account_id},
    {"newAccountID", &rpc_call::new_account_id_st, &rpc_call::new_account_id},
    {"startVolumeID", &rpc_call::start_volume_id_st, &rpc_call::start_volume_id},
    {"limit", &rpc_call::limit_st, &rpc_call::limit},
};

const int_member* find_int_member(std::string_view key) {
  for (const auto& m : int_members)
    if (m.key == key) return &m;
  return nullptr;
}

// An array of ids, each a plain integer or an object holding it under
// `id_key`: `add` gets every good id; `st` turns bad if any is not one.
// Returns false when the document turned out malformed (not merely mistyped).
template <class Add>
bool read_id_array(od::value v, std::string_view id_key, param& st, Add add) {
  od::array arr;
  st = param::ok;
  if (v.get_array().get(arr)) {
    st = param::bad;
    return true;
  }
  for (auto el : arr) {
    od::value ev;
    if (std::move(el).get(ev)) return false;
    od::json_type t;
    if (ev.type().get(t)) return false;
    param id_st = param::absent;
    std::int64_t id = 0;
    if (t == od::json_type::object) {
      od::object o;
      if (ev.get_object().get(o)) return false;
      for (auto field_result : o) {
        od::field f;
        if (std::move(field_result).get(f)) return false;
        std::string_view k;
        if (f.unescaped_key().get(k)) return false;
        if (k == id_key) read_int(f.value(), id_st, id);
      }
    } else {
      read_int(ev, id_st, id);
    }
    if (id_st != param::ok) {
      st = param::bad;
    } else {
      add(id);
    }
  }
  return true;
}

// Returns false when the document turned out malformed (not merely mistyped).
bool read_params(od::object params, rpc_call& c) {
  for (auto field_result : params) {
    od::field field;
    if (std::move(field_result).get(field)) return false;
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v = field.value();
    if (const int_member* im = find_int_member(key)) {
      int_param(v, c, im->key, c.*(im->st), c.*(im->value));
    } else if (key == "keepResult") {
      bool b = false;
      if (v.get_bool().get(b)) {
        c.keep_result_st = param::bad;
        if (c.first_bad_param.empty()) c.first_bad_param = "keepResult";
      } else {
        c.keep_result_st = param::ok;
        c.keep_result = b;
      }
    } else if (key == "asyncResultTypes") {
      od::json_type t;
      if (v.type().get(t)) return false;
      if (t == od::json_type::null) continue;
      od::array arr;
      c.result_types_st = param::ok;
      c.result_types = 0;
      if (v.get_array().get(arr)) {
        c.result_types_st = param::bad;
      } else {
        for (auto el : arr) {
          od::value ev;
          if (std::move(el).get(ev)) return false;
          std::string_view s;
          std::uint8_t bit = 0;
          if (ev.get_string().get(s) || (bit = result_type_bit(s)) == 0) {
            c.result_types_st = param::bad;
          } else {
            c.result_types |= bit;
          }
        }
      }
      note_bad(c, c.result_types_st, "asyncResultTypes");
    } else if (key == "name") {
      read_string(v, c.name_st, c.name);
      note_bad(c, c.name_st, "name");
    } else if (key == "format") {
      std::string_view ignored;
      read_string(v, c.format_st, ignored);
      note_bad(c, c.format_st, "format");
    } else if (key == "volumes" || key == "volumeIDs") {
      // CloneMultipleVolumes: [{"volumeID": N, ...}, ...] (plain integers accepted too).
      c.volumes.clear();
      if (!read_id_array(v, "volumeID", c.volumes_st, [&](std::int64_t id) { c.volumes.push_back(id); }))
        return false;
      note_bad(c, c.volumes_st, "volumes");
    } else if (key == "drives") {
      // AddDrives: [{"driveID": N, "type": ...}], RemoveDrives: [N, ...]; both accepted.
      c.drive_count = 0;
      if (!read_id_array(v, "driveID", c.drives_st, [&](std::int64_t) { ++c.drive_count; })) return false;
      note_bad(c, c.drives_st, "drives");
    }
  }
  return true;
}

bool parse_into(od::parser& parser, const char* data, std::size_t len, rpc_call& c) {
  od::document doc;
  if (parser.iterate(simdjson::padded_string_view(data, len, len + json_padding)).get(doc)) {
    c.detail = "the request is not JSON";
    return false;
  }
  od::object obj;
  if (doc.get_object().get(obj)) {
    c.detail = "the request is not a JSON object";
    return false;
  }
  auto malformed = [&c] {
    c.detail = "malformed JSON";
    return false;
  };
  bool saw_method = false;
  for (auto field_result : obj) {
    od::field field;
    if (std::move(field_result).get(field)) return malformed();
    std::string_view key;
    if (field.unescaped_key().get(key)) return malformed();
    od::value v = field.value();
    if (key == "method") {
      std::string_view name;
      if (v.get_string().get(name)) {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'method' must be a string";
      } else {
        saw_method = true;
        c.method_name = name;
        c.m = method_from_name(name);
      }
    } else if (key == "id") {
      od::json_type t;
      if (v.type().get(t)) return malformed();
      if (t == od::json_type::null) {
        if (!v.is_null()) return malformed();
        c.id_raw = "null";
      } else if (t == od::json_type::string) {
        std::string_view raw = trim_right(v.raw_json_token());
        std::string_view s;
        if (v.get_string().get(s)) return malformed();
        c.id_raw = raw;
      } else if (t == od::json_type::number) {
        std::string_view raw = trim_right(v.raw_json_token());
        double d;
        if (v.get_double().get(d)) return malformed();
        c.id_raw = raw;
      } else {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'id' must be an integer, a string or null";
      }
    } else if (key == "params") {
      od::json_type t;
      if (v.type().get(t)) return malformed();
      if (t == od::json_type::null) continue;
      od::object params;
      if (t != od::json_type::object || v.get_object().get(params)) {
        c.st = rpc_call::status::bad_envelope;
        c.detail = "'params' must be an object (named parameters)";
        continue;
      }
      if (!read_params(params, c)) return malformed();
    }
  }
  const char* loc = nullptr;
  if (doc.current_location().get(loc) != simdjson::OUT_OF_BOUNDS) {
    c.detail = "trailing characters after the JSON object";
    return false;
  }
  if (c.st == rpc_call::status::ok && !saw_method) {
    c.st = rpc_call::status::bad_envelope;
    c.detail = "'method' is missing";
  }
  return true;
}

}  // namespace

const rpc_call& request_parser::parse(const char* data, std::size_t len) {
  rpc_call& c = impl_->call;
  std::vector<std::int64_t> volumes = std::move(c.volumes);  // keep its capacity
  volumes.clear();
  c = rpc_call{};
  c.volumes = std::move(volumes);
  try {
    if (!parse_into(impl_->parser, data, len, c)) {
      c.st = rpc_call::status::malformed;
      c.id_raw = "null";
    }
  } catch (const std::exception&) {  // allocation failure inside simdjson
    c.st = rpc_call::status::malformed;
    c.id_raw = "null";
    c.detail = "the request could not be parsed";
  }
  return c;
}

}  // namespace pollster::sim::detail
