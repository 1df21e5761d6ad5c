import LMKitNN
