using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Tests.Support;
using Xunit;

namespace Ferry.Tests.Images;

public sealed class ImageDirectoryTests
{
    [SharedDataFact]
    public void ThreadsCaseReadsThroughTypedAccessors()
    {
        var dir = ImageDirectory.Open(TestVectors.ImagesOf("threads"));

        inventory_entry inventory = dir.ReadInventory();
        pstree_entry process = Assert.Single(dir.ReadPstree());
        Assert.Equal(ImageMagic.ImagesV1_1, inventory.ImgVersion);
        Assert.Equal(30300u, process.Pid);
        Assert.Equal([30300u, 30301u, 30302u, 30303u], process.Threads);
        foreach (uint tid in process.Threads)
            Assert.Equal(core_entry.Types.march.X8664, dir.ReadCore((int)tid).Mtype);
        Assert.NotEmpty(dir.ReadMm(30300).Vmas);
        task_kobj_ids_entry ids = dir.ReadIds(30300);
        Assert.NotEmpty(dir.ReadFdinfo(ids.FilesId));
        Assert.NotEmpty(dir.ReadFiles());
        Assert.NotNull(dir.ReadFs(30300));
    }

    [SharedDataFact]
    public void PipeDataCarriesTheQueuedBytes()
    {
        var dir = ImageDirectory.Open(TestVectors.ImagesOf("pipe-tree"));

        ImageEntry pipe = Assert.Single(dir.ReadPipesData());

        Assert.Equal(510, pipe.Extra.Length);
        Assert.Equal(510u, pipe.As<pipe_data_entry>().Bytes);
    }

    [SharedDataFact]
    public void TcpStreamCarriesBothQueues()
    {
        string images = TestVectors.ImagesOf("tcp-loopback");
        string file = Path.GetFileName(Directory.GetFiles(images, "tcp-stream-*.img")[0]);
        uint inode = Convert.ToUInt32(file["tcp-stream-".Length..^".img".Length], 16);

        ImageEntry stream = ImageDirectory.Open(images).ReadTcpStream(inode);

        var tcp = stream.As<tcp_stream_entry>();
        Assert.Equal((int)(tcp.InqLen + tcp.OutqLen), stream.Extra.Length);
    }

    [SharedDataFact]
    public void MissingOptionalImageReadsAsEmptyButMissingCoreFails()
    {
        var dir = ImageDirectory.Open(TestVectors.ImagesOf("counter-static"));

        Assert.Empty(dir.ReadSkQueues());
        Assert.Empty(dir.ReadFdinfo(999));
        var error = Assert.Throws<ImageFormatException>(() => dir.ReadCore(1));
        Assert.Contains("core-1.img", error.Message);
    }

    [SharedDataFact]
    public void ImageOfAnotherKindIsRejected()
    {
        string images = TestVectors.ImagesOf("counter-static");
        using var temp = new TempDirectory();
        File.Copy(Path.Combine(images, "mm-30100.img"), Path.Combine(temp.Path, "core-30100.img"));

        var error = Assert.Throws<ImageFormatException>(() => ImageDirectory.Open(temp.Path).ReadCore(30100));
        Assert.Contains("MM", error.Message);
    }

    [Fact]
    public void MissingDirectoryIsRejected()
    {
        Assert.Throws<ImageFormatException>(() => ImageDirectory.Open("/nonexistent/ferry-images"));
    }

    [Fact]
    public void WrittenImagesReadBackAndAreOwnerOnly()
    {
        using var temp = new TempDirectory();
        var dir = ImageDirectory.Create(Path.Combine(temp.Path, "dump"));
        var ids = new task_kobj_ids_entry { VmId = 1, FilesId = 2, FsId = 3, SighandId = 4 };

        File.WriteAllBytes(dir.PathOf(ImageNames.Inventory), [1, 2, 3]);
        FileModes.Set(dir.PathOf(ImageNames.Inventory), (UnixFileMode)0x1a4);   // 0644, left by an earlier dump
        dir.WriteInventory(new inventory_entry { ImgVersion = ImageMagic.ImagesV1_1, FdinfoPerId = true });
        dir.WriteIds(7, ids);
        dir.WritePstree([new pstree_entry { Pid = 7, Ppid = 0, Pgid = 7, Sid = 7, Threads = { 7 } }]);

        var back = ImageDirectory.Open(dir.Path);
        Assert.Equal(ids, back.ReadIds(7));
        Assert.True(back.ReadInventory().FdinfoPerId);
        Assert.Equal(7u, Assert.Single(back.ReadPstree()).Pid);
        Assert.Equal(ImageWriter.FileMode, FileModes.Of(dir.PathOf(ImageNames.Inventory)));
        Assert.Equal(ImageWriter.FileMode, FileModes.Of(dir.PathOf(ImageNames.Ids(7))));
        // inventory has no common magic, ids does.
        Assert.Equal(0x58313116u, BitConverter.ToUInt32(File.ReadAllBytes(dir.PathOf(ImageNames.Inventory)), 0));
        Assert.Equal(ImageMagic.Common, BitConverter.ToUInt32(File.ReadAllBytes(dir.PathOf(ImageNames.Ids(7))), 0));
    }

    [Fact]
    public void WriterRejectsWrongMessageOrPayloadLength()
    {
        using var writer = new ImageWriter(new MemoryStream(), ImageKinds.PipesData);
        Assert.Throws<ArgumentException>(() => writer.Write(new pstree_entry()));
        Assert.Throws<ArgumentException>(() => writer.Write(new pipe_data_entry { PipeId = 1, Bytes = 4 }, new byte[3]));
        Assert.Throws<ArgumentException>(() => writer.Write(new pipe_data_entry { PipeId = 1 }));
    }

    [Fact]
    public void KindTableIsConsistent()
    {
        Assert.Equal(ImageKinds.All.Count, ImageKinds.All.Select(k => k.Magic).Distinct().Count());
        Assert.Equal(ImageKinds.All.Count, ImageKinds.All.Select(k => k.Name).Distinct().Count());
        Assert.Same(ImageKinds.Inventory, ImageKinds.All[0]);
        Assert.Same(ImageKinds.IrmapCache, ImageKinds.All[^1]);
        Assert.Same(ImageKinds.Core, ImageKinds.FindByName("CORE"));
        Assert.Same(ImageKinds.Stats, ImageKinds.FindByMagic(0x57093306));
        Assert.Equal(ImagePrefix.Service, ImageKinds.Stats.Prefix);
        Assert.Equal(ImagePrefix.None, ImageKinds.Inventory.Prefix);
        Assert.Null(ImageKinds.FindByMagic(ImageMagic.Common));
    }
}
