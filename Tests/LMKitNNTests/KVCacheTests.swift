import LMKitNN
import LMKitTensor
import Testing
import TestSupport

/// The KV cache fills a preallocated buffer in place: decoding steps copy only their own keys and
/// values (the copy-on-write of `Tensor.write` never fires while nothing else holds the buffer),
/// and what a step returned earlier keeps its values after the cache is rewound and rewritten.
@Suite struct KVCacheTests {
    @Test func stepsWriteInPlaceAndEarlierViewsKeepTheirValues() {
        let cache = KVCache(layers: 1)
        var storages: [ObjectIdentifier] = []
        GradMode.withoutGradient {
            for step in 0..<6 {
                let (k, v) = cache.append(layer: 0, key: randn([1, 2, 1, 4], seed: UInt64(step)), value: randn([1, 2, 1, 4], seed: 99))
                #expect(k.shape == [1, 2, step + 1, 4] && v.shape == k.shape)
                storages.append(ObjectIdentifier(k.storage))
            }
        }
        #expect(Set(storages).count == 1, "every step wrote into the same buffer")
        // A view held across a rewind keeps its numbers: the rewrite goes to a copy.
        let held = GradMode.withoutGradient {
            cache.append(layer: 0, key: randn([1, 2, 1, 4], seed: 6), value: randn([1, 2, 1, 4], seed: 6)).key
        }
        let before = held.contiguous().floats
        cache.truncate(to: 2)
        let after = GradMode.withoutGradient {
            cache.append(layer: 0, key: randn([1, 2, 1, 4], seed: 7), value: randn([1, 2, 1, 4], seed: 7)).key
        }
        #expect(held.contiguous().floats == before)
        #expect(after.shape == [1, 2, 3, 4] && ObjectIdentifier(after.storage) != ObjectIdentifier(held.storage))
    }
}
