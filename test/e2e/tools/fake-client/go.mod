module homeops.test/tools/fake-client

go 1.25.0
