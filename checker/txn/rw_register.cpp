// Read-write register inference. Unlike list-append, a read shows one version, not the history
// of the key, so the version order is only partly known. We infer what is sound:
//  - wr: the (unique) writer of the value an external read returned;
//  - initial state: a read of the initial value (nil, or the --initial-value) saw the initial
//    version, which precedes every write of the key (rw from each such reader to each writer);
//  - writes follow reads: a committed txn that read k = v and then wrote k installed its
//    version after v (ww from v's writer, rw from v's other readers). Were it otherwise, the
//    txn and v's writer would already form a G1c cycle, so this adds no false anomaly to any
//    model that forbids G1c.
// External reads are a txn's first read of a key before it writes the key; later reads are
// checked against the txn's own state (internal). A value nobody wrote is a warning, not an
// anomaly: it may predate the history (Elle also accepts it). What stays open, the order of blind
// writes, is left to the version-order search (version_order.h), which gets each key's versions.
#include <algorithm>
#include <optional>

#include "checker/txn/inference.h"
#include "checker/txn/write_index.h"

namespace faultline::checker::txn {

namespace {

using nlohmann::json;

struct Version {  // what an external read saw
  std::uint32_t key;
  bool nil;
  std::int64_t value;
  auto operator<=>(const Version&) const = default;
};

class RwRegister {
 public:
  RwRegister(const TxnHistory& h, std::optional<std::int64_t> initial)
      : h_(h), writes_(h), final_writers_(h.key_names.size()), initial_(initial) {
    if (!initial_) return;
    for (const Mop& m : h_.mops)
      if (m.kind == MopKind::write && m.value == *initial_)
        throw HistoryError("history", 0, "rw-register: a txn writes " + std::to_string(m.value) + " to key " +
                           h_.key_names[m.key] +
                           ", the initial value: a read of it could not name its version");
  }

  void run(Inference& out) {
    collect_external_reads(out);
    choose_nodes(out.in_graph);
    check_reads(out);
    add_version_edges(out.in_graph, out.edges);
    find_lost_updates(
        h_, [&](const Mop& r) { return ReadVersion{reads_initial(r), r.value}; },
        [&](const Mop& r) { return value_text(r); }, out.anomalies);
    list_versions(out.versions);
  }

  std::string explain(std::uint32_t a, std::uint32_t b, std::uint8_t kind) const;

 private:
  // The read saw the key's initial version: nil, or the initial value when one is given.
  bool reads_initial(const Mop& r) const { return initial_ ? !r.read_nil && r.value == *initial_ : r.read_nil; }
  Version version(const Mop& r) const {
    bool initial = reads_initial(r);
    return {r.key, initial, initial ? 0 : r.value};
  }
  static std::string value_text(const Mop& m) { return m.read_nil ? "nil" : std::to_string(m.value); }
  std::string name(std::uint32_t t) const { return h_.txn_name(t); }
  std::uint32_t writer(const Mop& read) const {
    if (reads_initial(read)) return kNone;
    const WriteInfo* w = writes_.find(read.key, read.value);
    return w ? h_.mops[w->mop].txn : kNone;
  }
  // The txn's last write of key, if any.
  const Mop* final_write(std::uint32_t t, std::uint32_t key) const {
    const Mop* last = nullptr;
    for (const Mop& m : h_.mops_of(t))
      if (m.kind == MopKind::write && m.key == key) last = &m;
    return last;
  }
  std::vector<const Mop*> external_reads(std::uint32_t t) const;
  template <class F>
  void for_each_reader(const Version& v, F&& f) const {
    auto it = std::lower_bound(readers_.begin(), readers_.end(), std::pair{v, 0u});
    for (; it != readers_.end() && it->first == v; ++it) f(it->second);
  }

  void collect_external_reads(Inference& out);
  void list_versions(std::vector<KeyVersions>& versions) const;
  void choose_nodes(std::vector<bool>& in_graph);
  void check_reads(Inference& out);
  void add_version_edges(const std::vector<bool>& in_graph, EdgeList& edges);

  const TxnHistory& h_;
  WriteIndex writes_;
  std::vector<std::uint32_t> external_;                    // external read mops of ok txns
  std::vector<std::pair<Version, std::uint32_t>> readers_;  // sorted (version, reader txn)
  std::vector<std::vector<std::uint32_t>> final_writers_;   // per key: in-graph writer txns
  std::optional<std::int64_t> initial_;
};

std::vector<const Mop*> RwRegister::external_reads(std::uint32_t t) const {
  std::vector<const Mop*> reads;
  std::vector<std::uint32_t> touched;
  for (const Mop& m : h_.mops_of(t)) {
    if (std::find(touched.begin(), touched.end(), m.key) != touched.end()) continue;
    touched.push_back(m.key);
    if (m.kind == MopKind::read) reads.push_back(&m);
  }
  return reads;
}

// Also Elle's INT check: a later read must return what the txn last read or wrote.
// A nil read when keys start at an initial value saw no version: a warning, and no edges.
void RwRegister::collect_external_reads(Inference& out) {
  AnomalyLog& log = out.anomalies;
  std::vector<std::pair<std::uint32_t, const Mop*>> known;  // key -> latest read or write
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) {
    if (h_.txns[t].status != TxnStatus::ok) continue;
    for (const Mop* r : external_reads(t)) {
      if (initial_ && r->read_nil) {
        out.warnings.push_back(name(t) + " read " + h_.key_names[r->key] + " = nil, but keys start at " +
                               std::to_string(*initial_));
        continue;
      }
      external_.push_back(h_.mop_id(*r));
      readers_.emplace_back(version(*r), t);
    }
    known.clear();
    for (const Mop& m : h_.mops_of(t)) {
      auto it = std::find_if(known.begin(), known.end(), [&](auto& k) { return k.first == m.key; });
      if (it == known.end()) {
        known.emplace_back(m.key, &m);
        continue;
      }
      const Mop& before = *it->second;
      if (m.kind == MopKind::read && (m.read_nil != before.read_nil || m.value != before.value))
        log.add("internal",
                {{"txn", h_.txns[t].index}, {"key", h_.key_names[m.key]},
                 {"explanation", name(t) + " read " + h_.key_names[m.key] + " = " + value_text(m) +
                                     " after it " + (before.kind == MopKind::read ? "read " : "wrote ") +
                                     value_text(before)}});
      it->second = &m;
    }
  }
  std::sort(readers_.begin(), readers_.end());
}

void RwRegister::choose_nodes(std::vector<bool>& in_graph) {
  in_graph.assign(h_.txns.size(), false);
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) in_graph[t] = h_.txns[t].status == TxnStatus::ok;
  for (std::uint32_t mop : external_) {
    std::uint32_t w = writer(h_.mops[mop]);
    if (w != kNone && h_.txns[w].status == TxnStatus::info) in_graph[w] = true;
  }
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) {
    if (!in_graph[t]) continue;
    for (const Mop& m : h_.mops_of(t))
      if (m.kind == MopKind::write && writes_.find(m.key, m.value)->final_in_txn)
        final_writers_[m.key].push_back(t);
  }
}

void RwRegister::check_reads(Inference& out) {
  for (std::uint32_t mop : external_) {
    const Mop& r = h_.mops[mop];
    if (reads_initial(r)) continue;
    const std::uint32_t t = r.txn, w = writer(r);
    auto report = [&](const std::string& type, const std::string& why) {
      out.anomalies.add(type, {{"txn", h_.txns[t].index}, {"key", h_.key_names[r.key]},
                               {"value", r.value}, {"explanation", why}});
    };
    std::string read = name(t) + " read " + h_.key_names[r.key] + " = " + value_text(r);
    if (w == kNone) {
      out.warnings.push_back(read + ", a value no transaction in the history wrote");
    } else if (w == t) {
      report("future-read", read + " before writing that value itself");
    } else if (h_.txns[w].status == TxnStatus::fail) {
      report("G1a", read + ", written by " + name(w) + ", which failed (aborted read)");
    } else {
      if (!writes_.find(r.key, r.value)->final_in_txn)
        report("G1b", read + ", which " + name(w) + " overwrote before it committed (intermediate read)");
      out.edges.add(w, t, kWR);
    }
  }
}

void RwRegister::add_version_edges(const std::vector<bool>& in_graph, EdgeList& edges) {
  for (std::uint32_t mop : external_) {
    const Mop& r = h_.mops[mop];
    const std::uint32_t t = r.txn;
    if (reads_initial(r)) {  // the initial version precedes every write
      for (std::uint32_t w : final_writers_[r.key])
        if (w != t) edges.add(t, w, kRW);
      continue;
    }
    if (!final_write(t, r.key)) continue;
    std::uint32_t w = writer(r);  // t's write follows the version it read
    if (w != kNone && w != t && in_graph[w]) edges.add(w, t, kWW);
    for_each_reader(version(r), [&](std::uint32_t reader) {
      if (reader != t) edges.add(reader, t, kRW);
    });
  }
}

void RwRegister::list_versions(std::vector<KeyVersions>& versions) const {
  for (std::uint32_t k = 0; k < final_writers_.size(); ++k) {
    if (final_writers_[k].empty()) continue;
    KeyVersions key;
    for (std::uint32_t w : final_writers_[k]) {
      key.writers.push_back(w);
      key.values.push_back(final_write(w, k)->value);
      key.readers.emplace_back();
      for_each_reader({k, false, key.values.back()}, [&](std::uint32_t reader) {
        if (reader != w) key.readers.back().push_back(reader);
      });
    }
    versions.push_back(std::move(key));
  }
}

std::string RwRegister::explain(std::uint32_t a, std::uint32_t b, std::uint8_t kind) const {
  auto reads_of = [&](std::uint32_t t) { return external_reads(t); };
  for (const Mop* r : reads_of(kind == kRW ? a : b)) {
    std::string key = h_.key_names[r->key];
    if (kind == kWR && writer(*r) == a)
      return name(b) + " read " + key + " = " + value_text(*r) + ", written by " + name(a);
    const Mop* w = final_write(b, r->key);
    if (kind == kWW && w && writer(*r) == a)
      return name(b) + " read " + key + " = " + value_text(*r) + " (written by " + name(a) +
             ") and then wrote " + key + " = " + value_text(*w) + ", so its version comes after";
    if (kind == kRW && w && reads_initial(*r))
      return name(a) + " read " + key + " = " + value_text(*r) + ", the initial state, which " + name(b) +
             "'s write of " + value_text(*w) + " replaced";
    if (kind == kRW && w) {
      for (const Mop* rb : reads_of(b))
        if (rb->key == r->key && version(*rb) == version(*r))
          return name(a) + " read " + key + " = " + value_text(*r) + ", which " + name(b) +
                 " read too and then overwrote with " + value_text(*w);
    }
  }
  return unexplained_edge(h_, a, b, kind);
}

}  // namespace

Inference infer_rw_register(const TxnHistory& history, std::optional<std::int64_t> initial_value) {
  return run_analysis<RwRegister>(history, initial_value);
}

}  // namespace faultline::checker::txn
