import ArgumentParser

/// `lmkit`: learn and build large language models from first principles.
@main
struct LMKitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lmkit",
        abstract: "Learn and build large language models from first principles, in Swift.",
        discussion: """
            Start with `lmkit tour`: a guided walk through the study path, run live on real data.
            Every command that prints results takes --json (shapes are in each command's --help).
            """,
        subcommands: [
            TourCommand.self, TokenizeCommand.self, TokenizerCommand.self, EmbedCommand.self, ClassifyCommand.self, FillMaskCommand.self,
            AttentionCommand.self, FinetuneCommand.self, LoRACommand.self, QuantizeCommand.self, ImatrixCommand.self, PruneCommand.self,
            TrainCommand.self, DistillCommand.self,
            GenerateCommand.self,
            SummarizeCommand.self,
            ChatCommand.self,
            ServeCommand.self,
            InspectCommand.self, EvalCommand.self, ExperimentCommand.self, BenchCommand.self, AssetsCommand.self,
        ]
    )
}
