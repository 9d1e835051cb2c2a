// medledger: the command line of the appliance.
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "medledger/core/allocator.h"
#include "medledger/core/secret.h"

int main(int argc, char** argv) {
  // PINs and keys pass through this process: keep them out of core dumps.
  medledger::core::disable_core_dumps();

  CLI::App app{"medledger: HSM-backed identity, signing and ledger appliance for hospitals"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("medledger ") + MEDLEDGER_VERSION + " (" +
                                        medledger::core::allocator_name() + ")");
  medledger::app::register_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return 0;
}
