// Who wrote each (key, value): the index every inference starts from.
//
// An open-addressing table sized once from the number of writes: a million-transaction history
// has a few million writes, and std::unordered_map's node per entry would dominate the check.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

#include "checker/txn/txn_history.h"

namespace faultline::checker::txn {

struct WriteInfo {
  std::uint32_t mop = kNone;       // the append or write micro-op
  std::uint32_t position = kNone;  // list-append: index in the key's version order; kNone: unread
  bool final_in_txn = true;        // false: the txn wrote this key again later (G1b if read)
};

class WriteIndex {
 public:
  // Indexes every write of every txn, failed ones too (their reads are G1a). Throws
  // HistoryError if a value is written twice to one key: a read could not name its writer.
  explicit WriteIndex(const TxnHistory& history);

  WriteInfo* find(std::uint32_t key, std::int64_t value);
  const WriteInfo* find(std::uint32_t key, std::int64_t value) const {
    return const_cast<WriteIndex*>(this)->find(key, value);
  }

 private:
  struct Slot {
    std::int64_t value = 0;
    std::uint32_t key = kNone;  // kNone: free
    WriteInfo info;
  };
  std::size_t home(std::uint32_t key, std::int64_t value) const;

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
};

}  // namespace faultline::checker::txn
