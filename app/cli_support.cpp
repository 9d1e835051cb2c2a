#include "cli_support.h"

#include <iostream>

namespace medledger::app {

void fail(const core::Error& error) {
  std::cerr << "medledger: " << error.to_string() << "\n";
  // CLI11 turns RuntimeError into the process exit code without printing it again.
  throw CLI::RuntimeError(core::exit_code_for(error.code));
}

}  // namespace medledger::app
