print("lmkit")
