// swift-tools-version: 6.1
// LMKit: learn and build large language models from first principles, in Swift.
//
// The targets follow the stack, lower never importing higher:
//   COpenBLAS, CLMKitKernels (integer kernels for quantized weights) → LMKitTensor (tensor engine + autograd + safetensors, GGUF)
//             → LMKitNN (modules, layers, weight builder, optimizers), LMKitEmbeddings (word vectors), LMKitTokenizers
//             → LMKitModels (model registry; GPT-2, the decoder families (Llama, Gemma 3), BERT/DistilBERT, RNN LMs)
//             → LMKitGeneration, LMKitTraining, LMKitEncoders, LMKitExperiments
//             → LMKitChat (chat templates, conversations) → LMKitServer (HTTP API, web page),
//               LMKitOptimization (GGUF export and quantization, importance matrices, pruning)
//             → LMKitTour, LMKitBench (applications) → lmkit (the command)
// LMKitAssets (where real models and data live on disk) and LMKitPlot (SVG pictures) sit beside the
// engine and import nothing.
import PackageDescription

/// A target CPU lets SIMD code use AVX2+FMA instead of per-lane library calls (see ENGINE-NOTES).
/// Release builds stay at `-O`, not `-Ounchecked`: the latter deletes every `precondition`, and the
/// engine's shape checks must hold in release too (measured: no loss in the benchmark kernels, which
/// run on unsafe pointers).
let fastMath: [SwiftSetting] = [
    .unsafeFlags(["-target-cpu", "haswell"]),
]

/// The engine's kernels are generic SIMD code that is very slow unoptimized (measured: exact GELU's
/// erf dominated a MiniLM forward pass in a debug build), so the tensor engine is optimized in debug
/// builds too (MiniLM on 60 sentences: 4.9 s → 2.6 s; release 0.3 s: without whole-module
/// optimization, which debug builds cannot take, generics called across files stay unspecialized).
/// The rest of a debug build stays debuggable.
let engineSettings: [SwiftSetting] = fastMath + [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "LMKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lmkit", targets: ["lmkit"]),
        .library(name: "LMKitTensor", targets: ["LMKitTensor"]),
        .library(name: "LMKitNN", targets: ["LMKitNN"]),
        .library(name: "LMKitAssets", targets: ["LMKitAssets"]),
        .library(name: "LMKitEmbeddings", targets: ["LMKitEmbeddings"]),
        .library(name: "LMKitTokenizers", targets: ["LMKitTokenizers"]),
        .library(name: "LMKitModels", targets: ["LMKitModels"]),
        .library(name: "LMKitEncoders", targets: ["LMKitEncoders"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "CLMKitKernels",
            cSettings: [.unsafeFlags(["-O3"])]   // integer kernels: optimized in debug builds too
        ),
        .target(name: "LMKitAssets"),
        .target(name: "LMKitPlot"),
        .target(
            name: "LMKitTensor",
            dependencies: [
                "COpenBLAS",
                "CLMKitKernels",
                .product(name: "RealModule", package: "swift-numerics"),
            ],
            swiftSettings: engineSettings
        ),
        .target(name: "LMKitNN", dependencies: ["LMKitTensor"], swiftSettings: fastMath),
        .target(
            name: "LMKitEmbeddings",
            dependencies: ["LMKitTensor", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: fastMath
        ),
        .target(name: "LMKitTokenizers", dependencies: ["LMKitTensor"], swiftSettings: fastMath),
        .target(name: "LMKitModels", dependencies: ["LMKitNN"], exclude: ["README.md"], swiftSettings: fastMath),
        .target(name: "LMKitEncoders", dependencies: ["LMKitModels", "LMKitTokenizers", "LMKitAssets", "LMKitPlot"], swiftSettings: fastMath),
        .target(name: "LMKitExperiments", dependencies: ["LMKitModels", "LMKitTraining", "LMKitAssets", "LMKitPlot"], swiftSettings: fastMath),
        .target(name: "LMKitGeneration", dependencies: ["LMKitModels", "LMKitTokenizers"], swiftSettings: fastMath),
        .target(name: "LMKitChat", dependencies: ["LMKitModels", "LMKitTokenizers", "LMKitGeneration"], swiftSettings: fastMath),
        .target(
            name: "LMKitServer",
            dependencies: ["LMKitChat", "LMKitEncoders", .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log")],
            swiftSettings: fastMath
        ),
        .target(name: "LMKitOptimization", dependencies: ["LMKitModels", "LMKitTokenizers", "LMKitChat", "LMKitTensor", "LMKitAssets"], swiftSettings: fastMath),
        .target(name: "LMKitTraining", dependencies: ["LMKitModels", "LMKitTokenizers", "LMKitChat", "LMKitEncoders", "LMKitAssets", "LMKitPlot"], swiftSettings: fastMath),
        .target(
            name: "LMKitTour",
            dependencies: ["LMKitNN", "LMKitOptimization", "LMKitEmbeddings", "LMKitTokenizers", "LMKitTraining", "LMKitGeneration", "LMKitExperiments", "LMKitEncoders", "LMKitChat", "LMKitAssets", "LMKitPlot", .product(name: "RealModule", package: "swift-numerics")],
            swiftSettings: fastMath
        ),
        .target(name: "LMKitBench", dependencies: ["LMKitNN", "LMKitModels", "LMKitTokenizers", "LMKitEncoders", "COpenBLAS"], swiftSettings: fastMath),
        .executableTarget(
            name: "lmkit",
            dependencies: [
                "LMKitTour", "LMKitBench", "LMKitChat", "LMKitOptimization", "LMKitServer", "LMKitAssets", "LMKitEmbeddings", "LMKitPlot", "LMKitTokenizers", "LMKitNN", "LMKitModels", "LMKitGeneration", "LMKitTraining", "LMKitExperiments", "LMKitEncoders",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fastMath
        ),
        .target(name: "TestSupport", dependencies: ["LMKitTensor", "LMKitNN", "LMKitAssets"], path: "Tests/TestSupport"),
        .testTarget(name: "LMKitTensorTests", dependencies: ["LMKitTensor", "CLMKitKernels", "TestSupport"]),
        .testTarget(name: "LMKitNNTests", dependencies: ["LMKitNN", "TestSupport"]),
        .testTarget(name: "LMKitAssetsTests", dependencies: ["LMKitAssets", "TestSupport"]),
        .testTarget(name: "LMKitEmbeddingsTests", dependencies: ["LMKitEmbeddings", "LMKitPlot", "TestSupport"]),
        .testTarget(name: "LMKitTokenizersTests", dependencies: ["LMKitTokenizers", "TestSupport"]),
        .testTarget(name: "LMKitExperimentsTests", dependencies: ["LMKitExperiments", "LMKitModels"]),
        .testTarget(name: "LMKitGenerationTests", dependencies: ["LMKitGeneration", "LMKitAssets", "TestSupport"]),
        .testTarget(name: "LMKitModelsTests", dependencies: ["LMKitModels", "LMKitGeneration", "LMKitTraining", "LMKitChat", "LMKitEncoders", "TestSupport"]),
        .testTarget(name: "LMKitEncodersTests", dependencies: ["LMKitEncoders", "LMKitModels", "TestSupport"]),
        .testTarget(name: "LMKitChatTests", dependencies: ["LMKitChat", "LMKitModels", "LMKitTokenizers", "LMKitGeneration", "LMKitAssets", "TestSupport"]),
        .testTarget(name: "LMKitOptimizationTests", dependencies: ["LMKitOptimization", "LMKitModels", "LMKitNN", "LMKitChat", "LMKitGeneration", "LMKitTokenizers", "TestSupport"]),
        .testTarget(name: "LMKitCommandTests", dependencies: ["lmkit", "LMKitModels", "TestSupport"]),
        .testTarget(
            name: "LMKitServerTests",
            dependencies: ["LMKitServer", "LMKitModels", "LMKitChat", "LMKitTokenizers", "TestSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird"), .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
