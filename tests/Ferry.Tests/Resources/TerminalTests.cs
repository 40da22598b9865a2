using Ferry.Images;
using Ferry.Images.Protos;
using Ferry.Resources.Terminals;
using Ferry.Restore;
using Ferry.Tests.Images;
using Ferry.Linux;
using Xunit;

namespace Ferry.Tests.Resources;

public class TerminalTests
{
    /// <summary>st_rdev as glibc's makedev encodes it (the kernel's new_encode_dev).</summary>
    static ulong Dev(uint major, uint minor) =>
        ((ulong)(major & 0xfffff000) << 32) | ((ulong)(major & 0xfff) << 8) | ((ulong)(minor & 0xffffff00) << 12) | (minor & 0xff);

    [Theory]
    [InlineData(5, 2, TtyType.Pty, true)]      // /dev/ptmx
    [InlineData(128, 7, TtyType.Pty, true)]    // a legacy multiplexed master major
    [InlineData(136, 3, TtyType.Pty, false)]   // /dev/pts/3
    [InlineData(136, 300, TtyType.Pty, false)] // an index above 255 (minor bits above the first byte)
    [InlineData(5, 1, TtyType.Console, false)]
    [InlineData(5, 0, TtyType.Ctty, false)]    // /dev/tty
    [InlineData(4, 1, TtyType.Vt, false)]      // /dev/tty1
    [InlineData(4, 63, TtyType.Vt, false)]
    [InlineData(188, 0, TtyType.Serial, false)] // /dev/ttyUSB0
    public void Terminals_are_told_by_their_device_numbers_as_CRIU_tells_them(uint major, uint minor, TtyType type, bool master)
    {
        var driver = TerminalDriver.Of(Dev(major, minor));
        Assert.NotNull(driver);
        Assert.Equal((type, master), (driver.Type, driver.IsMaster));
        Assert.True(TerminalDriver.IsTerminal(Dev(major, minor)));
    }

    [Fact]
    public void A_serial_port_of_the_tty_major_is_a_terminal_without_a_driver_and_dev_null_is_none()
    {
        Assert.Null(TerminalDriver.Of(Dev(4, 64))); // /dev/ttyS0: CRIU has no driver for it either
        Assert.True(TerminalDriver.IsTerminal(Dev(4, 64)));
        Assert.Null(TerminalDriver.Of(Dev(1, 3)));
        Assert.False(TerminalDriver.IsTerminal(Dev(1, 3)));
    }

    [Fact]
    public void Tty_info_ids_are_the_index_doubled_plus_one_for_a_master_and_fixed_for_the_others()
    {
        Assert.Equal(7u, TerminalDriver.InfoId(TerminalDriver.PtyMaster, 3));
        Assert.Equal(6u, TerminalDriver.InfoId(TerminalDriver.PtySlave, 3));
        Assert.Equal(2012u, TerminalDriver.InfoId(TerminalDriver.Controlling, TerminalDriver.Controlling.FixedIndex!.Value));
    }

    static Dictionary<uint, file_entry> Files(uint ttyInfoId) => new()
    {
        [1] = new file_entry
        {
            Type = fd_types.Tty, Id = 1,
            Tty = new tty_file_entry { Id = 1, TtyInfoId = ttyInfoId, Flags = 2, Fown = new fown_entry { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 }, RegfId = 2 },
        },
        [2] = new file_entry { Type = fd_types.Reg, Id = 2, Reg = new reg_file_entry { Id = 2, Flags = 2, Pos = 0, Name = "/dev/pts/3", Fown = new fown_entry { Uid = 0, Euid = 0, Signum = 0, PidType = 0, Pid = 0 } } },
    };

    static tty_info_entry Info(uint id, TtyType type) => new()
    {
        Id = id, Type = type, Locked = false, Exclusive = false, PacketMode = false, Sid = 0, Pgrp = 0, Rdev = 0,
    };

    [Fact]
    public void Terminal_images_are_read_by_tty_id_with_their_queued_bytes()
    {
        using var temp = new TempDirectory();
        var slave = Info(6, TtyType.Pty);
        slave.Pty = new tty_pty_entry { Index = 3 };
        ImageWriter.WriteFile(Path.Combine(temp.Path, ImageNames.TtyInfo), ImageKinds.TtyInfo, [slave]);
        ImageWriter.WriteFile(Path.Combine(temp.Path, "tty-data.img"), ImageKinds.TtyData,
            [new tty_data_entry { TtyId = 6, Data = Google.Protobuf.ByteString.CopyFromUtf8("typed") }]);

        var images = TerminalImages.Load(new DumpSet.Loader(temp.Path), Files(6));

        Assert.Equal(3u, images.Infos[6].Pty.Index);
        Assert.Equal("typed"u8.ToArray(), images.Queued[6]);
    }

    [Fact]
    public void A_tty_file_without_its_tty_info_entry_is_a_defect_naming_both_images()
    {
        using var temp = new TempDirectory();
        var slave = Info(6, TtyType.Pty);
        slave.Pty = new tty_pty_entry { Index = 3 };
        ImageWriter.WriteFile(Path.Combine(temp.Path, ImageNames.TtyInfo), ImageKinds.TtyInfo, [slave]);

        var error = Assert.Throws<ImageFormatException>(() => TerminalImages.Load(new DumpSet.Loader(temp.Path), Files(7)));

        Assert.Contains("files.img", error.Message);
        Assert.Contains("tty_info_id 7", error.Message);
        Assert.Contains(ImageNames.TtyInfo, error.Message);
    }

    [Fact]
    public void A_pty_without_its_index_is_a_defect()
    {
        using var temp = new TempDirectory();
        ImageWriter.WriteFile(Path.Combine(temp.Path, ImageNames.TtyInfo), ImageKinds.TtyInfo, [Info(6, TtyType.Pty)]);

        var error = Assert.Throws<ImageFormatException>(() => TerminalImages.Load(new DumpSet.Loader(temp.Path), Files(6)));

        Assert.Contains(ImageNames.TtyInfo, error.Message);
        Assert.Contains("pty data exactly for a PTY", error.Message);
    }
}

public class TermiosImageTests
{
    /// <summary>c_cc as CRIU 4.2 wrote it for a pty in raw mode: bytes packed four to a value, garbage past the eighth.</summary>
    static readonly uint[] CriuControlCharacters =
        [360651779, 65540, 1708817, 370609938, 0, 0, 0, 0, 2469702624, 22028, 49, 0, 2469692048, 22028, 2543787232, 32706, 0, 0, 0];

    [Fact]
    public unsafe void Control_characters_are_unpacked_from_criu_values_four_to_one()
    {
        var entry = new termios_entry { CIflag = 0, COflag = 4, CCflag = 191, CLflag = 2608, CLine = 0, CIspeed = 0, COspeed = 0 };
        entry.CCc.Add(CriuControlCharacters);

        var kernel = TermiosImage.ToKernel(entry);

        // VINTR ^C, VQUIT ^\, VERASE DEL, VKILL ^U, VEOF ^D, VTIME 0, VMIN 1, ..., VSTART ^Q, VSTOP ^S, VSUSP ^Z, ...
        byte[] expected = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0];
        Assert.Equal(expected, new ReadOnlySpan<byte>(kernel.c_cc, Ferry.Linux.TtyIoctl.NCCS).ToArray());
        Assert.Equal((4u, 191u, 2608u), (kernel.c_oflag, kernel.c_cflag, kernel.c_lflag));
    }
}
