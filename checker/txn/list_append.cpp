// List-append inference (Elle §4): each key's version order is its longest read; every other
// read must be a prefix of it. Appends nobody read come after every observed element.
#include <algorithm>
#include <unordered_set>

#include "checker/txn/inference.h"
#include "checker/txn/write_index.h"

namespace faultline::checker::txn {

namespace {

using nlohmann::json;

class ListAppend {
 public:
  explicit ListAppend(const TxnHistory& h)
      : h_(h), writes_(h), order_(h.key_names.size()), unread_(h.key_names.size()),
        failed_at_(h.key_names.size(), kNone), garbage_at_(h.key_names.size(), kNone) {}

  void run(Inference& out) {
    recover_orders(out.anomalies);
    choose_nodes(out.in_graph);
    add_write_edges(out.in_graph, out.edges);
    check_reads(out);
    check_dirty_updates(out.anomalies);
    check_internal(out.anomalies);
    check_future_reads(out.anomalies);
    find_lost_updates(
        h_, [&](const Mop& r) { return version_read(r); },
        [&](const Mop& r) { return format_list(h_.list(r)); }, out.anomalies);
  }

  std::string explain(std::uint32_t a, std::uint32_t b, std::uint8_t kind) const;

 private:
  // Who appended value to key: a txn id, or kNone if nobody did.
  std::uint32_t writer(std::uint32_t key, std::int64_t value) const {
    const WriteInfo* w = writes_.find(key, value);
    return w ? h_.mops[w->mop].txn : kNone;
  }
  bool is_prefix(const Mop& read) const {
    auto list = h_.list(read);
    const auto& order = order_[read.key];
    return list.size() <= order.size() && std::equal(list.begin(), list.end(), order.begin());
  }
  // A read that is a prefix of the order is named by its length (values are unique).
  ReadVersion version_read(const Mop& read) const {
    auto list = h_.list(read);
    return {static_cast<std::int64_t>(list.size()), list.empty() ? 0 : list.back()};
  }
  // The txns whose appends directly follow a prefix read of n elements of key.
  template <class F>
  void for_each_next_writer(std::uint32_t key, std::size_t n, F&& f) const {
    if (n < order_[key].size()) {
      if (std::uint32_t w = writer(key, order_[key][n]); w != kNone) f(w, order_[key][n]);
      return;
    }
    for (std::uint32_t mop : unread_[key]) f(h_.mops[mop].txn, h_.mops[mop].value);
  }
  std::string name(std::uint32_t t) const { return h_.txn_name(t); }
  std::string read_text(const Mop& r) const {
    return name(r.txn) + "'s read of " + h_.key_names[r.key] + " = " + format_list(h_.list(r));
  }

  void recover_orders(AnomalyLog& log);
  void choose_nodes(std::vector<bool>& in_graph);
  void add_write_edges(const std::vector<bool>& in_graph, EdgeList& edges);
  void check_reads(Inference& out);
  void check_read(const Mop& r, Inference& out);
  void check_dirty_updates(AnomalyLog& log);
  void check_own_order(std::uint32_t key, AnomalyLog& log);
  void check_internal(AnomalyLog& log);
  void check_future_reads(AnomalyLog& log);

  const TxnHistory& h_;
  WriteIndex writes_;
  std::vector<std::vector<std::int64_t>> order_;   // per key: the version order
  std::vector<std::vector<std::uint32_t>> unread_; // per key: ok appends no read observed
  std::vector<std::uint32_t> failed_at_;           // per key: first order position a failed txn wrote
  std::vector<std::uint32_t> garbage_at_;          // per key: first order position nobody wrote
};

bool ok(const TxnHistory& h, std::uint32_t t) { return h.txns[t].status == TxnStatus::ok; }

// Reads only count from committed txns; nil in a committed txn is the empty initial list.
template <class F>
void for_each_committed_read(const TxnHistory& h, F&& f) {
  for (std::uint32_t t = 0; t < h.txns.size(); ++t)
    if (ok(h, t))
      for (const Mop& m : h.mops_of(t))
        if (m.kind == MopKind::read) f(m);
}

bool has_duplicates(std::span<const std::int64_t> list) {
  std::unordered_set<std::int64_t> seen(list.begin(), list.end());
  return seen.size() != list.size();
}

json duplicate_case(const TxnHistory& h, const Mop& r) {
  return {{"txn", h.txns[r.txn].index}, {"key", h.key_names[r.key]},
          {"read", std::vector<std::int64_t>(h.list(r).begin(), h.list(r).end())},
          {"explanation", h.txn_name(r.txn) + " read " + h.key_names[r.key] + " = " +
                              format_list(h.list(r)) + ", which holds an element twice"}};
}

void ListAppend::recover_orders(AnomalyLog& log) {
  std::vector<const Mop*> longest(h_.key_names.size(), nullptr);
  for_each_committed_read(h_, [&](const Mop& r) {
    if (!longest[r.key] || r.list_size > longest[r.key]->list_size) longest[r.key] = &r;
  });
  for (std::uint32_t key = 0; key < longest.size(); ++key) {
    if (!longest[key]) continue;
    auto list = h_.list(*longest[key]);
    auto& order = order_[key];
    std::unordered_set<std::int64_t> seen;
    for (std::int64_t v : list)
      if (seen.insert(v).second) order.push_back(v);  // Elle: (distinct longest-read)
    if (order.size() != list.size()) log.add("duplicate-elements", duplicate_case(h_, *longest[key]));
    for (std::uint32_t i = 0; i < order.size(); ++i) {
      WriteInfo* w = writes_.find(key, order[i]);
      if (!w) {
        garbage_at_[key] = std::min(garbage_at_[key], i);
        continue;
      }
      w->position = i;
      if (h_.txns[h_.mops[w->mop].txn].status == TxnStatus::fail)
        failed_at_[key] = std::min(failed_at_[key], i);
    }
  }
}

// Committed txns, and info txns some read observed: an unobserved info txn may never have
// happened, and it would only have incoming edges anyway.
void ListAppend::choose_nodes(std::vector<bool>& in_graph) {
  in_graph.assign(h_.txns.size(), false);
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) {
    const Txn& txn = h_.txns[t];
    if (txn.status == TxnStatus::ok) in_graph[t] = true;
    if (txn.status == TxnStatus::fail) continue;
    for (const Mop& m : h_.mops_of(t)) {
      if (m.kind != MopKind::append) continue;
      bool read = writes_.find(m.key, m.value)->position != kNone;
      if (read && txn.status == TxnStatus::info) in_graph[t] = true;
      if (!read && txn.status == TxnStatus::ok) unread_[m.key].push_back(h_.mop_id(m));
    }
  }
}

// ww: consecutive elements of each order, and the last observed element to every unread
// append (which must come after it).
void ListAppend::add_write_edges(const std::vector<bool>& in_graph, EdgeList& edges) {
  auto link = [&](std::uint32_t a, std::uint32_t b) {
    if (a != kNone && b != kNone && a != b && in_graph[a] && in_graph[b]) edges.add(a, b, kWW);
  };
  for (std::uint32_t key = 0; key < order_.size(); ++key) {
    const auto& order = order_[key];
    for (std::size_t i = 1; i < order.size(); ++i)
      link(writer(key, order[i - 1]), writer(key, order[i]));
    if (order.empty()) continue;
    for (std::uint32_t mop : unread_[key]) link(writer(key, order.back()), h_.mops[mop].txn);
  }
}

void ListAppend::check_reads(Inference& out) {
  for_each_committed_read(h_, [&](const Mop& r) { check_read(r, out); });
}

void ListAppend::check_read(const Mop& r, Inference& out) {
  const std::uint32_t t = r.txn;
  auto list = h_.list(r);
  auto case_for = [&](const std::string& why) {
    return json{{"txn", h_.txns[t].index}, {"key", h_.key_names[r.key]},
                {"read", std::vector<std::int64_t>(list.begin(), list.end())}, {"explanation", why}};
  };
  if (!is_prefix(r)) {
    if (has_duplicates(list)) {
      out.anomalies.add("duplicate-elements", duplicate_case(h_, r));
    } else {
      out.anomalies.add("incompatible-order",
                        case_for(read_text(r) + " is not a prefix of the longest read " +
                                 format_list(order_[r.key]) +
                                 ": no single order of appends explains both"));
    }
    return;  // no edges from a read that fits no version order
  }
  const std::size_t n = list.size();
  if (failed_at_[r.key] < n) {
    std::int64_t v = order_[r.key][failed_at_[r.key]];
    out.anomalies.add("G1a", case_for(read_text(r) + " includes " + std::to_string(v) +
                                      ", appended by " + name(writer(r.key, v)) +
                                      ", which failed (aborted read)"));
  }
  if (garbage_at_[r.key] < n) {
    std::int64_t v = order_[r.key][garbage_at_[r.key]];
    out.anomalies.add("garbage-read", case_for(read_text(r) + " includes " + std::to_string(v) +
                                               ", which no transaction appended"));
  }
  if (n > 0) {
    const WriteInfo* w = writes_.find(r.key, list.back());
    std::uint32_t a = w ? h_.mops[w->mop].txn : kNone;
    if (a != kNone && a != t && !w->final_in_txn)
      out.anomalies.add("G1b", case_for(read_text(r) + " ends with " + std::to_string(list.back()) +
                                        ", which " + name(a) + " appended before appending more to " +
                                        h_.key_names[r.key] + " (intermediate read)"));
    if (a != kNone && a != t && out.in_graph[a]) out.edges.add(a, t, kWR);
  }
  for_each_next_writer(r.key, n, [&](std::uint32_t b, std::int64_t) {
    if (b != t && out.in_graph[b]) out.edges.add(t, b, kRW);
  });
}

// A txn's appends to one key must land in the order it made them. (Appends of other txns
// between them show up as a G0 cycle instead.)
void ListAppend::check_own_order(std::uint32_t key, AnomalyLog& log) {
  const auto& order = order_[key];
  for (std::size_t i = 1; i < order.size(); ++i) {
    const WriteInfo* a = writes_.find(key, order[i - 1]);
    const WriteInfo* b = writes_.find(key, order[i]);
    if (!a || !b || h_.mops[a->mop].txn != h_.mops[b->mop].txn || a->mop < b->mop) continue;
    std::uint32_t t = h_.mops[a->mop].txn;
    log.add("internal", {{"txn", h_.txns[t].index}, {"key", h_.key_names[key]},
                         {"explanation", name(t) + " appended " + std::to_string(order[i]) +
                                             " before " + std::to_string(order[i - 1]) + " to " +
                                             h_.key_names[key] + ", but reads show " +
                                             format_list(order) + ": its appends were reordered"}});
  }
}

// Dirty update: a committed append lands after a failed one, so it was applied on top of
// state that was rolled back. Each key's walk also checks its txns' own append order.
void ListAppend::check_dirty_updates(AnomalyLog& log) {
  for (std::uint32_t key = 0; key < order_.size(); ++key) {
    check_own_order(key, log);
    std::uint32_t aborted = kNone;  // the failed writer since the last committed one
    for (std::int64_t v : order_[key]) {
      std::uint32_t w = writer(key, v);
      if (w == kNone) continue;
      TxnStatus s = h_.txns[w].status;
      if (s == TxnStatus::fail && aborted == kNone) aborted = w;
      if (s != TxnStatus::ok) continue;
      if (aborted != kNone)
        log.add("dirty-update",
                {{"key", h_.key_names[key]},
                 {"txns", {h_.txns[aborted].index, h_.txns[w].index}},
                 {"explanation", name(w) + " appended " + std::to_string(v) + " to " +
                                     h_.key_names[key] + " after the append of " + name(aborted) +
                                     ", which failed"}});
      aborted = kNone;
    }
  }
}

// Elle's INT check: each read must agree with the txn's own earlier reads and appends.
void ListAppend::check_internal(AnomalyLog& log) {
  struct Expected {
    std::uint32_t key;
    bool prefix_known;                 // false: we only know the suffix the txn appended
    std::vector<std::int64_t> values;
  };
  std::vector<Expected> state;
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) {
    if (!ok(h_, t)) continue;
    state.clear();
    for (const Mop& m : h_.mops_of(t)) {
      auto it = std::find_if(state.begin(), state.end(), [&](auto& e) { return e.key == m.key; });
      if (m.kind == MopKind::append) {
        if (it == state.end()) it = state.insert(state.end(), {m.key, false, {}});
        it->values.push_back(m.value);
        continue;
      }
      auto list = h_.list(m);
      if (it != state.end()) {
        const auto& e = it->values;
        bool consistent = it->prefix_known
                              ? std::equal(list.begin(), list.end(), e.begin(), e.end())
                              : list.size() >= e.size() &&
                                    std::equal(e.begin(), e.end(), list.end() - e.size());
        if (!consistent) {
          log.add("internal",
                  {{"txn", h_.txns[t].index}, {"key", h_.key_names[m.key]},
                   {"explanation", read_text(m) + ", but its own earlier operations imply " +
                                       (it->prefix_known ? "" : "[… ") + format_list(e).substr(it->prefix_known ? 0 : 1)}});
          break;  // one case per txn, like Elle
        }
        it->prefix_known = true;
        it->values.assign(list.begin(), list.end());
      } else {
        state.push_back({m.key, true, {list.begin(), list.end()}});
      }
    }
  }
}

// Future read: a txn reads an element it only appends later. No edge shows it (a txn never
// depends on itself), yet it is a one-txn G1c: information flowed backwards.
void ListAppend::check_future_reads(AnomalyLog& log) {
  for (std::uint32_t t = 0; t < h_.txns.size(); ++t) {
    if (!ok(h_, t)) continue;
    auto mops = h_.mops_of(t);
    for (std::size_t j = 0; j < mops.size(); ++j) {
      if (mops[j].kind != MopKind::append) continue;
      auto read = std::find_if(mops.begin(), mops.begin() + j, [&](const Mop& r) {
        auto list = h_.list(r);
        return r.kind == MopKind::read && r.key == mops[j].key &&
               std::find(list.begin(), list.end(), mops[j].value) != list.end();
      });
      if (read == mops.begin() + j) continue;
      log.add("future-read", {{"txn", h_.txns[t].index}, {"key", h_.key_names[read->key]},
                              {"explanation", read_text(*read) + " includes " +
                                                  std::to_string(mops[j].value) +
                                                  ", which it appends only later"}});
      break;
    }
  }
}

std::string ListAppend::explain(std::uint32_t a, std::uint32_t b, std::uint8_t kind) const {
  if (kind == kWR) {
    for (const Mop& r : h_.mops_of(b))
      if (r.kind == MopKind::read && r.list_size && writer(r.key, h_.list(r).back()) == a)
        return name(b) + " read " + name(a) + "'s append of " + std::to_string(h_.list(r).back()) +
               " to " + h_.key_names[r.key] + " (" + read_text(r) + ")";
  }
  if (kind == kWW) {
    for (const Mop& m : h_.mops_of(b)) {
      if (m.kind != MopKind::append) continue;
      const auto& order = order_[m.key];
      std::uint32_t pos = writes_.find(m.key, m.value)->position;
      if (pos == 0 || order.empty()) continue;
      std::int64_t before = pos == kNone ? order.back() : order[pos - 1];
      if (writer(m.key, before) != a) continue;
      return name(b) + " appended " + std::to_string(m.value) + " to " + h_.key_names[m.key] +
             " after " + name(a) + " appended " + std::to_string(before) +
             (pos == kNone ? " (nobody read " + std::to_string(m.value) +
                                 ", so it follows every element read)"
                           : "");
    }
  }
  if (kind == kRW) {
    for (const Mop& r : h_.mops_of(a)) {
      if (r.kind != MopKind::read || !is_prefix(r)) continue;
      std::string why;
      for_each_next_writer(r.key, r.list_size, [&](std::uint32_t w, std::int64_t v) {
        if (w == b && why.empty())
          why = read_text(r) + " missed " + name(b) + "'s append of " + std::to_string(v);
      });
      if (!why.empty()) return why;
    }
  }
  return unexplained_edge(h_, a, b, kind);
}

}  // namespace

Inference infer_list_append(const TxnHistory& history) { return run_analysis<ListAppend>(history); }

}  // namespace faultline::checker::txn
